// A project: processing status while below 100, then every file with its thumbnail, details, a
// download, and a panorama view for equirectangular images, 360 videos and their extracted frames.
import { ApiError, api, blobUrl, bytes, download } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'

const VIDEO_IN_MEMORY_MAX = 512 * 1024 * 1024 // the viewer loads an authenticated video whole: keep it sane

function panoramaLink(url: string, title: string, extra = ''): string {
  return `#/panorama?src=${encodeURIComponent(new URL(url).pathname)}&auth=1&title=${encodeURIComponent(title)}${extra}`
}

export async function projectView(name: string): Promise<View> {
  let alive = true
  const urls: string[] = []
  const title = h('h1', {}, name)
  const state = h('p', { id: 'project-state', 'aria-live': 'polite' })
  const progress = h('progress', { max: 100, value: 0, 'aria-label': 'processing progress' })
  const files = h('ul', { class: 'assets', id: 'project-files', 'aria-label': 'Files' })
  let done = false

  const thumb = (path: string | undefined, alt: string) => {
    const img = h('img', { alt, loading: 'lazy', width: 160, height: 90, class: 'thumb' })
    if (path) {
      blobUrl(new URL(path).pathname).then((u) => { urls.push(u); img.src = u }).catch(() => img.replaceWith(h('span', { class: 'thumb none' }, 'no preview')))
    } else return h('span', { class: 'thumb none', 'aria-hidden': 'true' }, '—')
    return img
  }

  function card(f: any): HTMLElement {
    const frames = Object.entries(f.assets ?? {}).filter(([role]) => role.startsWith('frame_')).sort() as [string, string][]
    const equirect = f.details?.equirectangular || f.type === 'video_360'
    const actions: (HTMLElement | null)[] = [
      h('button', { type: 'button', onclick: () => download(new URL(f.url).pathname, f.name).catch((e) => alert(e.message)), 'aria-label': `Download ${f.name}` }, 'Download'),
    ]
    if (f.type === 'image' && f.details?.equirectangular) actions.push(h('a', { class: 'button', href: panoramaLink(f.url, f.name), 'aria-label': `Open ${f.name} as a panorama` }, 'Panorama'))
    if (f.type === 'video_360' && f.size <= VIDEO_IN_MEMORY_MAX) actions.push(h('a', { class: 'button', href: panoramaLink(f.url, f.name, '&video=1') }, 'Play 360 video'))
    if (frames.length) actions.push(h('a', { class: 'button', href: `#/frames?project=${encodeURIComponent(name)}&file=${encodeURIComponent(f.name)}` }, `Frames (${frames.length})`))
    return h('li', { class: 'asset', 'data-file': f.name },
      thumb(f.assets?.thumbnail ?? frames[0]?.[1], f.name),
      h('div', { class: 'asset-body' },
        h('strong', {}, f.name),
        h('span', { class: 'muted' }, `${f.type}${equirect ? ' · 360°' : ''} · ${bytes(f.size)}${f.details?.width ? ` · ${f.details.width}×${f.details.height}` : ''}`),
        f.origin && f.origin !== f.name ? h('span', { class: 'muted' }, `from ${f.origin}`) : null,
        h('div', { class: 'actions' }, ...actions)))
  }

  poll(async () => {
    if (done) return
    let p
    try {
      p = await api(`/api/v1/projects/${encodeURIComponent(name)}`)
    } catch (err) {
      state.textContent = err instanceof ApiError ? err.message : String(err)
      done = err instanceof ApiError && err.status === 404
      return
    }
    progress.value = p.status
    if (p.state === 'failed') {
      state.textContent = `Processing failed: ${p.error} — ${p.message}`
      state.className = 'error'
      done = true
    } else if (p.status < 100) {
      state.textContent = `Processing… ${p.status}%`
    } else {
      done = true
      title.textContent = p.title || p.name
      state.textContent = `Ready · ${p.files.length} file${p.files.length === 1 ? '' : 's'}`
      files.replaceChildren(...p.files.map(card))
    }
  }, 3000, () => alive && !done) // 20/minute: well inside the spec's 60/minute for GET /projects/{name}

  const el = h('section', { class: 'project' }, h('div', { class: 'titlebar' }, title, h('a', { href: '#/' }, 'Library')), state, progress, files)
  return { el, destroy: () => { alive = false; urls.forEach((u) => URL.revokeObjectURL(u)) } }
}
