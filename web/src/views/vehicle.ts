// A vehicle: its videos per side with live state, and a spin viewer over the side's extracted frames.
//
// The spin viewer is a stack of two <img>: the frame and, when the mask layer is on, the same frame's
// mask overlay (GET /360/mask-frames, asked only when the video has masks). Drag (mouse, pen, touch),
// arrow keys or the scrubber turn it; the wheel (towards the pointer), pinch or +/- zoom, and while
// zoomed in a drag pans the picture instead (the scrubber and keys still turn); 0 resets. Fullscreen
// fills the screen with the stage. Frames are preloaded so turning never waits on the network.
import { ApiError, api } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'

const SIDES = ['OUTSIDE', 'INSIDE', 'OPEN'] as const
const PX_PER_FRAME = 8

type Spin = { el: HTMLElement; destroy: () => void }

function spinViewer(frames: string[], masks: (string | null)[], label: string): Spin {
  let index = 0
  let zoom = 1
  let panX = 0 // translation in px of the stage, applied before the scale
  let panY = 0
  let showMasks = false
  const frame = h('img', { class: 'spin-frame', alt: '', draggable: false, src: frames[0] })
  const mask = h('img', { class: 'spin-mask', alt: '', draggable: false, hidden: true })
  const counter = h('output', { class: 'spin-counter', id: 'spin-counter', 'aria-live': 'polite' })
  const scrub = h('input', { type: 'range', id: 'spin-scrubber', min: 1, max: frames.length, step: 1, value: 1, 'aria-label': 'Frame' })
  const stage = h('div', {
    class: 'spin-stage', id: 'spin', tabindex: 0, role: 'slider', 'aria-label': `${label}: drag or use arrow keys to turn, plus and minus to zoom`,
    'aria-valuemin': 1, 'aria-valuemax': frames.length, 'aria-valuenow': 1,
  }, h('div', { class: 'spin-zoom' }, frame, mask))
  const zoomBox = stage.firstElementChild as HTMLElement
  const preload = frames.map((src) => Object.assign(new Image(), { src, decoding: 'async' }))

  /** Keep the zoomed picture covering the stage: no empty margins past its edges. */
  const clamp = () => {
    const w = stage.clientWidth
    const hgt = stage.clientHeight
    const maxX = (w * (zoom - 1)) / 2
    const maxY = (hgt * (zoom - 1)) / 2
    panX = Math.max(-maxX, Math.min(maxX, panX))
    panY = Math.max(-maxY, Math.min(maxY, panY))
  }
  const draw = () => {
    frame.src = frames[index]
    frame.dataset.index = String(index)
    const m = masks[index]
    mask.hidden = !showMasks || !m
    if (showMasks && m) mask.src = m
    clamp()
    zoomBox.style.transform = `translate(${panX}px, ${panY}px) scale(${zoom})`
    stage.classList.toggle('zoomed', zoom > 1)
    stage.dataset.pan = `${Math.round(panX)},${Math.round(panY)}`
    scrub.value = String(index + 1)
    stage.setAttribute('aria-valuenow', String(index + 1))
    stage.setAttribute('aria-valuetext', `frame ${index + 1} of ${frames.length}`)
    counter.textContent = `Frame ${index + 1} / ${frames.length}${zoom !== 1 ? ` · ${zoom.toFixed(1)}×` : ''}`
  }
  const turn = (by: number) => {
    index = ((index + by) % frames.length + frames.length) % frames.length
    draw()
  }
  /** Zoom by `f` keeping the point (cx, cy) of the stage (px from its centre) where it is. */
  const zoomBy = (f: number, cx = 0, cy = 0) => {
    const next = Math.min(6, Math.max(1, zoom * f))
    const k = next / zoom
    panX = cx - (cx - panX) * k
    panY = cy - (cy - panY) * k
    zoom = next
    if (zoom === 1) panX = panY = 0
    draw()
  }
  const fromCentre = (e: { clientX: number; clientY: number }) => {
    const r = stage.getBoundingClientRect()
    return [e.clientX - r.left - r.width / 2, e.clientY - r.top - r.height / 2] as const
  }
  scrub.addEventListener('input', () => { index = +scrub.value - 1; draw() })

  // Pointer drag turns (or pans, when zoomed in); two pointers pinch-zoom.
  const pointers = new Map<number, { x: number; y: number }>()
  let startX = 0
  let startY = 0
  let startIndex = 0
  let startPan = [0, 0]
  let pinch = 0
  stage.addEventListener('pointerdown', (e) => {
    stage.setPointerCapture(e.pointerId)
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY })
    startX = e.clientX
    startY = e.clientY
    startIndex = index
    startPan = [panX, panY]
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()]
      pinch = Math.hypot(a.x - b.x, a.y - b.y)
    }
  })
  stage.addEventListener('pointermove', (e) => {
    if (!pointers.has(e.pointerId)) return
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY })
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()]
      const d = Math.hypot(a.x - b.x, a.y - b.y)
      if (pinch) zoomBy(d / pinch, ...fromCentre({ clientX: (a.x + b.x) / 2, clientY: (a.y + b.y) / 2 }))
      pinch = d
      return
    }
    if (zoom > 1) {
      panX = startPan[0] + e.clientX - startX
      panY = startPan[1] + e.clientY - startY
      draw()
      return
    }
    const steps = Math.round((startX - e.clientX) / PX_PER_FRAME)
    const next = ((startIndex + steps) % frames.length + frames.length) % frames.length
    if (next !== index) {
      index = next
      draw()
    }
  })
  const release = (e: PointerEvent) => {
    pointers.delete(e.pointerId)
    pinch = 0
  }
  stage.addEventListener('pointerup', release)
  stage.addEventListener('pointercancel', release)
  stage.addEventListener('wheel', (e) => {
    e.preventDefault()
    zoomBy(e.deltaY < 0 ? 1.15 : 1 / 1.15, ...fromCentre(e))
  }, { passive: false })
  stage.addEventListener('dblclick', (e) => (zoom > 1 ? zoomBy(1 / zoom) : zoomBy(2.5, ...fromCentre(e))))
  stage.addEventListener('keydown', (e) => {
    const keys: Record<string, () => void> = {
      ArrowLeft: () => turn(-1), ArrowRight: () => turn(1), Home: () => { index = 0; draw() },
      End: () => { index = frames.length - 1; draw() }, '+': () => zoomBy(1.25), '=': () => zoomBy(1.25),
      '-': () => zoomBy(0.8), '0': () => zoomBy(1 / zoom), f: () => void fullscreen(),
    }
    if (keys[e.key]) {
      e.preventDefault()
      keys[e.key]()
    }
  })

  const hasMasks = masks.some(Boolean)
  const toggle = h('button', { type: 'button', id: 'mask-toggle', 'aria-pressed': 'false', disabled: !hasMasks,
    title: hasMasks ? 'Show the damage masks over the frames' : 'No damage masks for this side' }, hasMasks ? 'Damage masks' : 'No damage masks')
  toggle.addEventListener('click', () => {
    showMasks = !showMasks
    toggle.setAttribute('aria-pressed', String(showMasks))
    draw()
  })
  const box = h('div', { class: 'spin' })
  const full = h('button', { type: 'button', id: 'spin-fullscreen', 'aria-label': 'Fullscreen', 'aria-pressed': 'false' }, 'Fullscreen')
  const fullscreen = async () => {
    if (document.fullscreenElement) await document.exitFullscreen()
    else await box.requestFullscreen().catch(() => undefined)
  }
  full.addEventListener('click', () => void fullscreen())
  const onFull = () => {
    const on = document.fullscreenElement === box
    full.setAttribute('aria-pressed', String(on))
    full.textContent = on ? 'Exit fullscreen' : 'Fullscreen'
    draw()
  }
  document.addEventListener('fullscreenchange', onFull)
  const controls = h('div', { class: 'spin-controls', role: 'toolbar', 'aria-label': 'Spin viewer controls' },
    h('button', { type: 'button', 'aria-label': 'Turn left', onclick: () => turn(-1) }, '◀'),
    h('button', { type: 'button', 'aria-label': 'Turn right', onclick: () => turn(1) }, '▶'),
    h('button', { type: 'button', 'aria-label': 'Zoom in', id: 'spin-zoom-in', onclick: () => zoomBy(1.25) }, '+'),
    h('button', { type: 'button', 'aria-label': 'Zoom out', onclick: () => zoomBy(0.8) }, '−'),
    h('button', { type: 'button', 'aria-label': 'Reset zoom', onclick: () => zoomBy(1 / zoom) }, '1:1'),
    toggle, full, counter)
  box.append(stage, scrub, controls)
  draw()
  return { el: box, destroy: () => { preload.splice(0); document.removeEventListener('fullscreenchange', onFull) } }
}

export async function vehicleView(uuid: string): Promise<View> {
  let alive = true
  let spin: Spin | null = null
  let shown = ''
  const title = h('h1', {}, 'Vehicle')
  const sides = h('ul', { class: 'list', id: 'vehicle-sides', 'aria-live': 'polite' })
  const sidePick = h('select', { id: 'spin-side', 'aria-label': 'Side to view' }, ...SIDES.map((s) => h('option', { value: s }, s)))
  const viewer = h('div', { class: 'spin-box', id: 'spin-box' }, h('p', { class: 'muted' }, 'Waiting for frames…'))
  const el = h('section', { class: 'vehicle' }, h('div', { class: 'titlebar' }, title, h('a', { href: '#/' }, 'Library')),
    h('section', { class: 'card', 'aria-labelledby': 'h-sides' }, h('h2', { id: 'h-sides' }, 'Videos'), sides),
    h('section', { class: 'card', 'aria-labelledby': 'h-spin' }, h('div', { class: 'titlebar' }, h('h2', { id: 'h-spin' }, 'Spin view'), sidePick), viewer))

  async function showSpin(side: string, jobId: string, maskCount: number): Promise<void> {
    const got = await api(`/360/frames?job_id=${encodeURIComponent(jobId)}&side=${side}`)
    let masks: (string | null)[] = got.frames.map(() => null)
    if (maskCount > 0) { // asked only when the vehicle record says there are masks: no 404 to log
      try {
        const m = await api(`/360/mask-frames?vehicle_uuid=${uuid}&side=${side}`)
        if (m.job_id === jobId) {
          const byName = new Map<string, string>(m.mask_frames.map((x: any) => [x.frame, x.url]))
          masks = got.frames.map((u: string) => byName.get(new URL(u, location.href).pathname.split('/').pop()!) ?? null)
        }
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err // removed meanwhile: the button says "No damage masks"
      }
    }
    spin?.destroy()
    spin = spinViewer(got.frames, masks, `${side} of ${title.textContent}`)
    const inside = side !== 'OUTSIDE'
    viewer.replaceChildren(spin.el)
    if (inside) {
      viewer.append(h('p', {}, h('a', { href: `#/panorama?src=${encodeURIComponent(got.frames[0])}&title=${encodeURIComponent(`${side} frame 1`)}`,
        id: 'open-frame-panorama' }, 'Open the first frame as a panorama')))
    }
  }

  poll(async () => {
    const v = await api(`/360/vehicles/${uuid}`)
    title.textContent = v.name || v.uuid
    sides.replaceChildren(...SIDES.flatMap((side) => (v.sides[side] ?? []).map((x: any) =>
      h('li', { class: 'row' }, h('strong', {}, side), h('span', {}, x.original_filename),
        h('span', { class: `status ${x.state === 'ready' ? 'ok' : x.state === 'failed' ? 'bad' : 'busy'}` }, `${x.state}${x.frames_total ? ` · ${x.frames_total} frames` : ''}`)))))
    if (!sides.children.length) sides.append(h('li', { class: 'muted' }, 'No videos yet.'))
    const side = sidePick.value
    const ready = (v.sides[side] ?? []).filter((x: any) => x.frames_total > 0).at(-1)
    const key = ready ? `${side}:${ready.job_id}:${ready.mask_frames ?? 0}` : ''
    if (key && key !== shown) {
      shown = key
      await showSpin(side, ready.job_id, ready.mask_frames ?? 0)
    } else if (!key) {
      shown = ''
      viewer.replaceChildren(h('p', { class: 'muted' }, `No frames for ${side} yet.`))
    }
  }, 4000, () => alive)
  sidePick.addEventListener('change', () => { shown = ''; viewer.replaceChildren(h('p', { class: 'muted' }, 'Loading frames…')) })
  return { el, destroy: () => { alive = false; spin?.destroy() } }
}
