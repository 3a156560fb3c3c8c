// One capture, for its owner: #/captures/<eid>. Its state, the preview still and GIF processing makes, every frame
// (a filmstrip from the share metadata, once the capture is uploaded), whether it is public (with its share
// link and a switch to make it private or public again), and a slot for the
// 3D view: each of the capture's models opens in the splat viewer (#/splat), or it says none exists
// yet. Polls until processing is final.
import { api } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'
import { stateKind, when } from './dashboard'

const FINAL = new Set(['FINISHED', 'FAILED', 'ERROR', 'CANCELLED', 'DELETED'])

/** The Captures API lists (no single GET): find the capture among the newest few thousand. */
async function findCapture(eid: string): Promise<any> {
  for (let offset = 0; offset < 5000; offset += 500) {
    const page = await api(`/api/v1/captures?limit=500&offset=${offset}&time_zone=true`)
    const c = page.find((x: any) => x.eid === eid)
    if (c) return c
    if (page.length < 500) break
  }
  throw new Error(`no capture ${eid}`)
}

export async function captureDetailView(eid: string): Promise<View> {
  let alive = true
  let settled = false
  let shownFrames = -1
  const title = h('h1', {}, 'Capture')
  const facts = h('dl', { class: 'facts', id: 'capture-facts' })
  const media = h('div', { class: 'capture-media', id: 'capture-media' })
  const big = h('img', { class: 'frame-image', id: 'capture-frame', alt: '' })
  const strip = h('ol', { class: 'filmstrip', id: 'capture-frames', 'aria-label': 'Frames' })
  const framesCard = h('section', { class: 'card', 'aria-labelledby': 'h-frames', hidden: true },
    h('h2', { id: 'h-frames' }, 'Frames'), h('div', { class: 'frame-stage flat' }, big), strip)
  const slot = h('div', { class: 'viewer-slot', id: 'capture-3d', 'data-models': '0' })
  const ident = h('p', { class: 'muted mono' }, eid)

  function showFrame(frames: any[], i: number): void {
    big.src = frames[i].url
    big.alt = `Frame ${i + 1}: ${frames[i].name}`
    strip.querySelectorAll('button').forEach((b, j) => b.setAttribute('aria-current', String(j === i)))
  }

  /** Public (its share link opens without a key) or private (only the owner's key), and the switch. */
  function sharing(c: any): HTMLElement {
    const button = h('button', { type: 'button', class: 'button', id: 'capture-share-toggle', 'aria-pressed': String(c.is_public) },
      c.is_public ? 'Make private' : 'Make public') as HTMLButtonElement
    const note = h('span', { class: 'muted', role: 'status' })
    button.onclick = async () => {
      button.disabled = true
      try {
        const updated = await api(`/api/v1/captures/${encodeURIComponent(eid)}/sharing`, { method: 'PUT', json: { is_public: !c.is_public } })
        shownFrames = -1
        facts.querySelector('#capture-sharing')?.replaceWith(sharing(updated))
      } catch (e) {
        note.textContent = `Could not change it: ${(e as Error).message}`
        button.disabled = false
      }
    }
    return h('div', { id: 'capture-sharing', 'data-public': String(c.is_public) },
      h('span', { class: c.is_public ? 'status ok' : 'status', id: 'capture-visibility' }, c.is_public ? 'Public' : 'Private'), ' ',
      c.share_url ? h('a', { href: c.share_url, id: 'capture-share-url' }, 'Share link') : h('span', { class: 'muted' }, 'only you can open it'), ' ',
      button, note)
  }

  async function refresh(): Promise<void> {
    const c = await findCapture(eid)
    title.textContent = c.name
    const rows: [string, Node | string | null][] = [
      ['State', h('span', { class: `status ${stateKind(c.state === 'FINISHED' ? 'done' : c.state)}`, id: 'capture-state' }, c.state)],
      ['', c.state_description], ['Error', c.error_reason], ['Created', when(c.created)], ['Uploaded', when(c.uploaded)],
      ['Error code', c.error_reason_slug],
      ['Sharing', sharing(c)],
    ]
    facts.replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, k || 'Status'), h('dd', {}, v)]))
    media.replaceChildren(...[
      c.preview_url ? h('figure', {}, h('img', { src: c.preview_url, alt: `Preview of ${c.name}`, id: 'capture-preview' }), h('figcaption', {}, 'Preview')) : null,
      c.gif_url ? h('figure', {}, h('img', { src: c.gif_url, alt: `Animated preview of ${c.name}`, id: 'capture-gif' }), h('figcaption', {}, 'GIF')) : null,
      c.video_url ? h('figure', {}, h('video', { src: c.video_url, controls: true, preload: 'metadata' }), h('figcaption', {}, 'Video')) : null,
    ].filter((x): x is HTMLElement => x !== null))
    if (!media.childElementCount) media.append(h('p', { class: 'muted' }, FINAL.has(c.state) ? 'No preview was made.' : 'The preview appears once processing has made it.'))

    let models: any[] = []
    if (c.sid && c.uploaded) { // the owner's key opens the share metadata of a private capture too
      const meta = await api(`/share/${encodeURIComponent(c.sid)}/metadata?lod=false&profiles=ply&profiles=sogs-sh0&quality=high`)
      models = meta.models ?? []
      const frames = meta.frames ?? []
      if (frames.length !== shownFrames) {
        shownFrames = frames.length
        framesCard.hidden = !frames.length
        strip.replaceChildren(...frames.map((f: any, i: number) => h('li', {}, h('button', { type: 'button', class: 'frame-thumb', 'data-i': i,
          'aria-label': `Frame ${i + 1}: ${f.name}`, onclick: () => showFrame(frames, i) },
          h('img', { src: f.thumbnail_url ?? f.url, alt: '', width: 128, height: 72, loading: 'lazy' }), h('span', {}, String(i + 1))))))
        if (frames.length) showFrame(frames, 0)
      }
    }
    slot.dataset.models = String(models.length)
    slot.replaceChildren(...([
      c.viewer_url ? h('a', { class: 'button primary', href: c.viewer_url, id: 'capture-viewer-link' }, 'Open the 3D viewer') : null,
      models.length
        ? h('ul', { class: 'list' }, ...models.map((m: any) => h('li', { class: 'row' },
          h('a', { class: 'button primary', href: `#/splat?src=${encodeURIComponent(m.url)}&flip=1&title=${encodeURIComponent(c.name)}` }, 'Open in the 3D viewer'),
          h('a', { href: m.url }, m.id ?? m.url.split('?')[0].split('/').pop()), h('span', { class: 'muted' }, `${(m.size / 1048576).toFixed(1)} MiB`))))
        : h('p', { class: 'muted', id: 'capture-3d-empty' }, c.state === 'FAILED'
          ? 'No 3D model: this capture failed (see its state).'
          : c.state === 'FINISHED'
            ? 'No splat for this capture yet (see its state); its point cloud and cameras open in the 3D viewer.'
            : 'The 3D view appears here once this capture has a model.'),
    ] as (HTMLElement | null)[]).filter((x): x is HTMLElement => x !== null))
    settled = FINAL.has(c.state)
  }

  poll(refresh, 4000, () => alive && !settled)
  const el = h('section', { class: 'capture' },
    h('div', { class: 'titlebar' }, title, h('a', { href: '#/' }, 'Library')), ident,
    h('div', { class: 'two' },
      h('section', { class: 'card', 'aria-labelledby': 'h-state' }, h('h2', { id: 'h-state' }, 'Status'), facts),
      h('section', { class: 'card', 'aria-labelledby': 'h-3d' }, h('h2', { id: 'h-3d' }, '3D view'), slot)),
    h('section', { class: 'card', 'aria-labelledby': 'h-preview' }, h('h2', { id: 'h-preview' }, 'Preview'), media),
    framesCard)
  return { el, destroy: () => { alive = false } }
}
