// Photo Sphere Viewer for equirectangular stills and 360 video, keyboard on, navbar with ARIA-labelled buttons.
import { Viewer } from '@photo-sphere-viewer/core'
import { EquirectangularVideoAdapter } from '@photo-sphere-viewer/equirectangular-video-adapter'
import { VideoPlugin } from '@photo-sphere-viewer/video-plugin'
import '@photo-sphere-viewer/core/index.css'
import '@photo-sphere-viewer/video-plugin/index.css'

export type Sphere = { viewer: Viewer; show: (url: string, caption?: string) => Promise<void>; destroy: () => void }

export function sphere(container: HTMLElement, opts: { url: string; caption?: string; video?: boolean }): Sphere {
  const common = { container, caption: opts.caption, keyboard: 'always' as const, navbar: ['zoom', 'move', 'caption', 'fullscreen'], loadingTxt: 'Loading panorama…' }
  const viewer = opts.video
    ? new Viewer({ ...common, adapter: EquirectangularVideoAdapter.withConfig({ muted: true, autoplay: false }), plugins: [VideoPlugin],
        panorama: { source: opts.url }, navbar: ['videoPlay', 'videoTime', 'zoom', 'move', 'caption', 'fullscreen'] })
    : new Viewer({ ...common, panorama: opts.url })
  return {
    viewer,
    show: async (url, caption) => {
      await viewer.setPanorama(opts.video ? { source: url } : url, { caption, transition: false, showLoader: true })
    },
    destroy: () => viewer.destroy(),
  }
}
