// A walkthrough: the drawing (floor plan) with the placed points; choosing a point opens its panorama
// in an overlay (a modal <dialog>, so it is in view wherever the page was scrolled) with the previous
// and next points along the walk. Escape or Close returns to the plan.
//
// Points come from GET /360/{upload_id}/points: `x`, `y` in 0..1 of the drawing image when placed on
// it, else `lat`, `lng`, which the drawing's bounds turn into the same 0..1 position.
import { ApiError, api, blobUrl } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'
import { sphere, type Sphere } from '../sphere'

type Point = { index: number; time_seconds: number; lat: number | null; lng: number | null; x: number | null; y: number | null;
  source: string; panorama_url: string; width: number; height: number }
type Bounds = { north: number; south: number; east: number; west: number }

const FINAL = new Set(['processed', 'done', 'ready', 'failed'])

function place(p: Point, b: Bounds | null): { x: number; y: number } | null {
  if (p.x != null && p.y != null) return { x: p.x, y: p.y }
  if (b && p.lat != null && p.lng != null && b.east !== b.west && b.north !== b.south) {
    return { x: (p.lng - b.west) / (b.east - b.west), y: (b.north - p.lat) / (b.north - b.south) }
  }
  return null
}

export async function walkthroughView(id: string, q: URLSearchParams): Promise<View> {
  let alive = true
  let points: Point[] = []
  let current = -1
  let viewer: Sphere | null = null
  let imageUrl = ''
  const obj = await api(`/360/${encodeURIComponent(id)}/upload`)
  const drawings = (await api(`/360/projects/${encodeURIComponent(obj.project_id)}/drawings`)).drawings as any[]
  const drawing = drawings.find((d) => d.id === obj.floor_id) ?? null

  const status = h('p', { id: 'walkthrough-status', 'aria-live': 'polite' })
  const plan = h('div', { class: 'plan', id: 'plan' })
  const markers = h('div', { class: 'plan-points', role: 'list', 'aria-label': 'Points on the drawing' })
  const img = h('img', { class: 'plan-image', alt: drawing ? `Drawing ${drawing.name}` : 'No drawing' })
  plan.append(img, markers)
  const caption = h('p', { id: 'point-caption', 'aria-live': 'polite' })
  const prev = h('button', { type: 'button', id: 'point-prev', 'aria-label': 'Previous point', disabled: true }, '← Previous')
  const next = h('button', { type: 'button', id: 'point-next', 'aria-label': 'Next point', disabled: true }, 'Next →')
  const box = h('div', { class: 'sphere', id: 'walkthrough-panorama', role: 'application', 'aria-label': '360° view of the chosen point' })
  const close = h('button', { type: 'button', id: 'point-close', 'aria-label': 'Close the panorama' }, 'Close ✕')
  const pano = h('dialog', { class: 'pano-overlay', id: 'pano-dialog', 'aria-labelledby': 'h-pano' },
    h('div', { class: 'titlebar' }, h('h2', { id: 'h-pano' }, 'Panorama'), caption, h('div', { class: 'actions' }, prev, next, close)), box)
  close.addEventListener('click', () => pano.close())
  pano.addEventListener('close', () => (markers.querySelector(`[data-i="${current}"]`) as HTMLElement | null)?.focus())
  if (drawing?.image_url) {
    imageUrl = await blobUrl(drawing.image_url)
    img.src = imageUrl
  }

  async function open(i: number): Promise<void> {
    if (i < 0 || i >= points.length) return
    current = i
    const p = points[i]
    markers.querySelectorAll('button').forEach((b) => b.setAttribute('aria-current', String(Number(b.dataset.i) === i)))
    prev.disabled = i === 0
    next.disabled = i === points.length - 1
    const text = `Point ${p.index + 1} of ${points.length} · ${p.time_seconds.toFixed(1)} s · ${p.source}`
    caption.textContent = text
    if (!pano.open) pano.showModal()
    box.removeAttribute('data-loaded')
    if (!viewer) {
      viewer = sphere(box, { url: p.panorama_url, caption: text })
      viewer.viewer.addEventListener('panorama-loaded', () => box.setAttribute('data-loaded', String(current)))
    } else {
      await viewer.show(p.panorama_url, text)
      box.setAttribute('data-loaded', String(current))
    }
  }
  prev.addEventListener('click', () => void open(current - 1))
  next.addEventListener('click', () => void open(current + 1))
  pano.addEventListener('keydown', (e) => {
    if (e.key === 'PageUp' || e.key === '[') { e.preventDefault(); void open(current - 1) }
    if (e.key === 'PageDown' || e.key === ']') { e.preventDefault(); void open(current + 1) }
  })

  function drawMarkers(): void {
    markers.replaceChildren(...points.map((p, i) => {
      const at = place(p, drawing?.bounds ?? null)
      const b = h('button', { type: 'button', class: 'point', role: 'listitem', 'data-i': i, 'aria-current': String(i === current),
        'aria-label': `Point ${p.index + 1} at ${p.time_seconds.toFixed(1)} seconds${at ? '' : ' (not placed on the drawing)'}`,
        style: at ? { left: `${at.x * 100}%`, top: `${at.y * 100}%` } : {}, onclick: () => void open(i) }, String(p.index + 1))
      if (!at) b.classList.add('unplaced')
      return b
    }))
  }

  let settled = false
  poll(async () => {
    const o = await api(`/360/${encodeURIComponent(id)}/upload`)
    try {
      const got = await api(`/360/${encodeURIComponent(id)}/points`)
      if (got.points.length !== points.length) {
        points = got.points
        drawMarkers()
      }
      // The points answer is read after the upload's: its status is the newer (the last poll must not show 'processing').
      status.textContent = `${o.name} · ${got.processing_status} · ${points.length} points`
      settled = FINAL.has(String(got.processing_status).toLowerCase())
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err
      status.textContent = `${o.name} · ${o.processing_status} · no points yet`
    }
    const wanted = Number(q.get('point'))
    if (current < 0 && q.has('point') && wanted < points.length) void open(wanted)
  }, 3000, () => alive && !settled)

  const el = h('section', { class: 'walkthrough' },
    h('div', { class: 'titlebar' }, h('h1', {}, obj.name), h('a', { href: '#/' }, 'Library')),
    status, h('section', { class: 'card', 'aria-labelledby': 'h-plan' }, h('h2', { id: 'h-plan' }, drawing ? drawing.name : 'Drawing'),
      h('p', { class: 'hint' }, 'Choose a point to look around from it.'), plan), pano)
  return { el, destroy: () => { alive = false; if (pano.open) pano.close(); viewer?.destroy(); if (imageUrl) URL.revokeObjectURL(imageUrl) } }
}
