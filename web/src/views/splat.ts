// A Gaussian splat in Spark (three.js): #/splat?src=<url>[&auth=1][&format=sog|spz|ply|splat|ksplat][&flip=1][&title=…].
// `auth` fetches the bytes with the signed-in credential (project assets); without it `src` is loaded as
// it is (a signed or public URL, as share links and captures give). Spark tells SOG, SPZ and PLY apart
// by their bytes; `format` is needed for .splat/.ksplat, which have no signature. `flip=1` starts it turned
// upside down (captures trained in COLMAP/OpenCV axes, Y down); the Flip button does the same.
import * as THREE from 'three'
import { SparkRenderer, SplatFileType, SplatMesh } from '@sparkjsdev/spark'
import { bytes } from '../api'
import { h } from '../dom'
import type { View } from '../main'
import { sourceBytes, stage, type Stage } from '../stage'

const FILE_TYPES: Record<string, SplatFileType> = {
  ply: SplatFileType.PLY, spz: SplatFileType.SPZ, splat: SplatFileType.SPLAT, ksplat: SplatFileType.KSPLAT, sog: SplatFileType.PCSOGSZIP,
}

export async function splatView(q: URLSearchParams): Promise<View> {
  const src = q.get('src')
  if (!src) throw new Error('no splat given')
  const title = q.get('title') || 'Gaussian splat'
  const status = h('p', { id: 'viewer-status', class: 'muted', 'aria-live': 'polite' }, 'Loading splat…')
  const box = h('div', { class: 'stage', id: 'splat-viewer', role: 'application',
    'aria-label': `3D view of ${title}. Drag to orbit, scroll to zoom, right-drag or arrow keys to pan.` })
  let s: Stage | null = null
  let mesh: SplatMesh | null = null
  const flip = h('button', { type: 'button', title: 'Turn the splat upside down (captures trained in OpenCV axes)',
    onclick: () => { if (mesh) { mesh.rotateX(Math.PI); s?.frame(worldBox(mesh)) } } }, 'Flip')
  const full = h('button', { type: 'button', onclick: () => s?.fullscreen() }, 'Fullscreen')
  const el = h('section', { class: 'viewer3d' },
    h('div', { class: 'titlebar' }, h('h1', {}, title), h('a', { href: 'javascript:history.back()' }, 'Back')),
    box, h('div', { class: 'actions' }, flip, full), status)

  const mounted = () => {
    s = stage(box)
    const st = s
    st.scene.add(new SparkRenderer({ renderer: st.renderer }))
    void (async () => {
      try {
        const data = await sourceBytes(src, q.get('auth') === '1', (done, total) => {
          status.textContent = `Loading splat… ${bytes(done)}${total ? ` of ${bytes(total)}` : ''}`
        })
        const fmt = q.get('format') ?? ''
        mesh = new SplatMesh({ fileBytes: data, ...(FILE_TYPES[fmt] ? { fileType: FILE_TYPES[fmt] } : {}) })
        if (q.get('flip') === '1') mesh.rotateX(Math.PI)
        st.scene.add(mesh)
        await mesh.initialized
        st.frame(worldBox(mesh))
        status.textContent = `${mesh.packedSplats?.numSplats?.toLocaleString() ?? '?'} splats · ${bytes(data.byteLength)}`
        box.setAttribute('data-loaded', 'true')
      } catch (err) {
        status.textContent = `Could not show the splat: ${(err as Error).message ?? err}`
        status.className = 'error'
        box.setAttribute('data-failed', 'true')
      }
    })()
  }
  return { el, mounted, destroy: () => { mesh?.dispose(); s?.destroy() } }
}

function worldBox(mesh: SplatMesh): THREE.Box3 {
  mesh.updateMatrixWorld(true)
  return mesh.getBoundingBox(true).clone().applyMatrix4(mesh.matrixWorld)
}
