// One project page, for its owner (#/project/<name>) or for a share link (#/share/<token>, no sign-in):
// processing status while below 100, then the project's 360 tour when it has panoramas, and every
// file with its kind, size, state (a clear message when processing failed for it), thumbnail,
// download, and the viewer that fits it (viewers.ts). The owner also gets the sharing panel.
import { ApiError, bytes } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'
import { ownerSource, shareSource, type FileEntry, type Source } from '../projectsource'
import { copyText, createShare, sharePanel } from '../shares'
import { viewerFor, viewerHref } from '../viewers'

const KIND_LABEL: Record<string, string> = {
  image: 'Image', video_360: '360 video', video: 'Video', point_cloud: 'Point cloud', splat: 'Gaussian splat',
  cad_bim: 'CAD / BIM / 3D model', archive: 'Archive', other: 'Other',
}

function panoramaLink(src: Source, url: string, title: string): string {
  const q = new URLSearchParams({ title, back: src.projectHref })
  if (src.shared) q.set('src', url)
  else {
    q.set('src', new URL(url, location.href).pathname)
    q.set('auth', '1')
  }
  return `#/panorama?${q}`
}

export function projectView(name: string): Promise<View> {
  return projectPage(ownerSource(name))
}

export function sharedProjectView(token: string): Promise<View> {
  return projectPage(shareSource(token))
}

async function projectPage(src: Source): Promise<View> {
  let alive = true
  const urls: string[] = []
  const title = h('h1', {}, src.shared ? 'Shared project' : src.id)
  const state = h('p', { id: 'project-state', 'aria-live': 'polite' })
  const progress = h('progress', { max: 100, value: 0, 'aria-label': 'processing progress' })
  const summary = h('div', { id: 'project-summary' })
  const tour = h('div', { id: 'project-tour' })
  const files = h('ul', { class: 'assets', id: 'project-files', 'aria-label': 'Files' })
  const sharing = src.shared ? null : sharePanel(src.id)
  let done = false

  const thumb = (url: string | undefined, alt: string) => {
    if (!url) return h('span', { class: 'thumb none', 'aria-hidden': 'true' }, '—')
    const img = h('img', { alt, loading: 'lazy', width: 160, height: 90, class: 'thumb' })
    src.loadable(url).then((u) => { if (u.startsWith('blob:')) urls.push(u); img.src = u })
      .catch(() => img.replaceWith(h('span', { class: 'thumb none' }, 'no preview')))
    return img
  }

  function card(f: FileEntry): HTMLElement {
    const frames = Object.entries(f.assets ?? {}).filter(([role]) => role.startsWith('frame_')).sort() as [string, string][]
    const panos = Object.entries(f.assets ?? {}).filter(([role]) => /^panorama_\d+$/.test(role)).sort() as [string, string][]
    const equirect = f.details?.equirectangular || f.type === 'video_360'
    const row = viewerFor(f)
    const open = viewerHref(src, f)
    const actions: (HTMLElement | null)[] = [
      open ? h('a', { class: 'button open', href: open, 'aria-label': `Open ${f.name}: ${row!.label}` }, row!.label) : null,
      h('button', { type: 'button', onclick: () => src.download(f.url, f.name).catch((e) => alert(e.message)), 'aria-label': `Download ${f.name}` }, 'Download'),
    ]
    if (frames.length) {
      // The owner gets the frames gallery; a share link shows the first frame (the gallery needs a sign-in).
      const href = src.shared ? panoramaLink(src, frames[0][1], `${f.name} · ${frames[0][0]}`)
        : `#/frames?project=${encodeURIComponent(src.id)}&file=${encodeURIComponent(f.name)}`
      actions.push(h('a', { class: 'button', href }, `Frames (${frames.length})`))
    }
    if (!src.shared) {
      actions.push(h('button', { type: 'button', 'aria-label': `Share ${f.name}`, onclick: async () => {
        try {
          const s = await createShare(src.id, f.name, null)
          await sharing?.refresh()
          alert((await copyText(s.app_url)) ? `Link to ${f.name} copied:\n${s.app_url}` : `Link to ${f.name}:\n${s.app_url}`)
        } catch (e) {
          alert((e as Error).message)
        }
      } }, 'Share'))
    }
    const kind = `${KIND_LABEL[f.type] ?? f.type}${f.details?.format ? ` (${String(f.details.format).toUpperCase()})` : ''}${equirect ? ' · 360°' : ''}`
    const facts = [bytes(f.size), f.details?.width ? `${f.details.width}×${f.details.height}` : null,
      f.details?.taken_at ? `taken ${String(f.details.taken_at).replace('T', ' ')}` : null,
      f.details?.gps ? `GPS ${(+f.details.gps.lat).toFixed(5)}, ${(+f.details.gps.lng).toFixed(5)}` : null,
      panos.length ? `${panos.length} tour panorama${panos.length === 1 ? '' : 's'}` : null].filter(Boolean).join(' · ')
    const status = f.error
      ? h('p', { class: 'file-error error', role: 'alert' }, h('strong', {}, 'Could not be processed: '), f.message || f.error, h('span', { class: 'muted' }, ` (${f.error})`))
      : h('span', { class: 'file-state ok' }, open ? 'Ready to view' : row ? `${row.label}: viewer coming; download it meanwhile` : 'Stored')
    return h('li', { class: `asset${f.error ? ' failed' : ''}`, 'data-file': f.name, 'data-state': f.error ? 'failed' : 'ready' },
      thumb(f.assets?.thumbnail ?? panos[0]?.[1] ?? frames[0]?.[1], f.name),
      h('div', { class: 'asset-body' },
        h('strong', {}, f.name),
        h('span', { class: 'muted kind' }, `${kind} · ${facts}`),
        !src.shared && f.origin && f.origin !== f.name ? h('span', { class: 'muted' }, `from ${f.origin}`) : null,
        status,
        h('div', { class: 'actions' }, ...actions)))
  }

  poll(async () => {
    if (done) return
    let p
    try {
      p = await src.record()
    } catch (err) {
      state.textContent = err instanceof ApiError ? err.message : String(err)
      state.className = 'error'
      done = err instanceof ApiError && err.status === 404
      progress.hidden = done
      return
    }
    progress.value = p.status
    if (p.title) title.textContent = p.title
    if (p.state === 'failed') {
      state.textContent = `Processing failed: ${p.error} — ${p.message}`
      state.className = 'error'
      done = true
    } else if (p.status < 100) {
      state.textContent = `Processing… ${p.status}%`
    } else {
      done = true
      progress.hidden = true
      const list = p.files ?? []
      const failed = p.failed_files ?? []
      state.textContent = `Ready · ${list.length} file${list.length === 1 ? '' : 's'}${src.shared ? ' · shared read-only' : ''}`
      summary.replaceChildren(failed.length
        ? h('p', { class: 'error', role: 'alert', id: 'failed-files' }, `${failed.length} of ${list.length} file${list.length === 1 ? '' : 's'} could not be processed: ${failed.join(', ')}. The others are ready.`)
        : '')
      if (p.tour) {
        tour.replaceChildren(h('div', { class: 'tour-card' },
          h('div', {}, h('strong', {}, '360° virtual tour'),
            h('span', { class: 'muted' }, ` · ${p.tour.nodes} panorama${p.tour.nodes === 1 ? '' : 's'}, linked by ${p.tour.ordered_by === 'gps' ? 'GPS position' : p.tour.ordered_by === 'position' ? 'scan position' : p.tour.ordered_by === 'time' ? 'capture time' : 'name'}${p.tour.gps ? ', with a plan' : ''}`)),
          h('a', { class: 'button', id: 'open-tour', href: src.tourHref }, 'Open the tour')))
      }
      files.replaceChildren(...list.map(card))
    }
  }, 3000, () => alive && !done) // 20/minute: well inside the spec's 60/minute for GET /projects/{name}

  const el = h('section', { class: 'project' },
    h('div', { class: 'titlebar' }, title, src.shared ? h('span', { class: 'badge' }, 'Shared with you · read-only') : h('a', { href: '#/' }, 'Library')),
    state, progress, summary, tour, files, sharing?.el ?? null)
  return Promise.resolve({ el, destroy: () => { alive = false; urls.forEach((u) => URL.revokeObjectURL(u)) } })
}
