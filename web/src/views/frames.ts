// Every extracted frame of one project file: #/frames?project=<name>&file=<filename>[&i=<n>].
//
// The chosen frame is large (a Photo Sphere Viewer for a 360° source, a plain image otherwise); a
// scrubber and a filmstrip of all frames choose it (click, drag the scrubber, ←/→ keys, Home/End).
// Frames are project assets behind the signed-in credential, so each is fetched as an object URL, a
// few at a time, thumbnails first.
import { api, blobUrl } from '../api'
import { h } from '../dom'
import type { View } from '../main'
import { sphere, type Sphere } from '../sphere'

const PARALLEL = 4

export async function framesView(q: URLSearchParams): Promise<View> {
  const name = q.get('project')
  const filename = q.get('file')
  if (!name || !filename) throw new Error('no project file given')
  const project = await api(`/api/v1/projects/${encodeURIComponent(name)}`)
  const file = (project.files ?? []).find((f: any) => f.name === filename)
  if (!file) throw new Error(`no file ${filename} in project ${name}`)
  const frames = (Object.entries(file.assets ?? {}) as [string, string][])
    .filter(([role]) => role.startsWith('frame_')).sort(([a], [b]) => a.localeCompare(b))
  if (!frames.length) throw new Error(`${filename} has no extracted frames`)
  const equirect = Boolean(file.details?.equirectangular || file.type === 'video_360')

  const aborter = new AbortController()
  const urls = new Map<number, Promise<string>>()
  const fetchFrame = (i: number): Promise<string> => {
    if (!urls.has(i)) urls.set(i, blobUrl(new URL(frames[i][1], location.href).pathname, aborter.signal))
    return urls.get(i)!
  }

  let index = Math.min(frames.length - 1, Math.max(0, Number(q.get('i') ?? 0) || 0))
  let viewer: Sphere | null = null
  let seq = 0
  const stage = h('div', { class: equirect ? 'sphere frame-stage' : 'frame-stage flat', id: 'frame-stage', role: equirect ? 'application' : 'img',
    'aria-label': equirect ? '360° view of the chosen frame' : 'The chosen frame' })
  const flat = h('img', { class: 'frame-image', id: 'frame-image', alt: '' })
  if (!equirect) stage.append(flat)
  const counter = h('output', { id: 'frame-counter', 'aria-live': 'polite' })
  const scrub = h('input', { type: 'range', id: 'frame-scrubber', min: 1, max: frames.length, step: 1, value: index + 1, 'aria-label': 'Frame' })
  const strip = h('ol', { class: 'filmstrip', id: 'filmstrip', 'aria-label': 'All frames' })
  const prev = h('button', { type: 'button', id: 'frame-prev', 'aria-label': 'Previous frame' }, '←')
  const next = h('button', { type: 'button', id: 'frame-next', 'aria-label': 'Next frame' }, '→')
  const thumbs = frames.map(([role], i) => {
    const img = h('img', { alt: role, width: 128, height: equirect ? 64 : 72, loading: 'lazy', decoding: 'async' })
    const b = h('button', { type: 'button', class: 'frame-thumb', 'data-i': i, 'aria-label': `Frame ${i + 1}: ${role}`, onclick: () => void show(i) }, img,
      h('span', {}, String(i + 1)))
    strip.append(h('li', {}, b))
    return img
  })

  async function show(i: number): Promise<void> {
    index = Math.min(frames.length - 1, Math.max(0, i))
    const mine = ++seq
    const [role] = frames[index]
    counter.textContent = `Frame ${index + 1} / ${frames.length} · ${role}`
    scrub.value = String(index + 1)
    prev.disabled = index === 0
    next.disabled = index === frames.length - 1
    strip.querySelectorAll('.frame-thumb').forEach((b) => b.setAttribute('aria-current', String(Number((b as HTMLElement).dataset.i) === index)))
    strip.querySelector(`[data-i="${index}"]`)?.scrollIntoView({ block: 'nearest', inline: 'center' })
    history.replaceState(null, '', `#/frames?project=${encodeURIComponent(name!)}&file=${encodeURIComponent(filename!)}&i=${index}`)
    const url = await fetchFrame(index)
    if (mine !== seq) return
    stage.removeAttribute('data-loaded')
    if (!equirect) {
      flat.onload = () => stage.setAttribute('data-loaded', String(index))
      flat.alt = `${filename} ${role}`
      flat.src = url
    } else if (!viewer) {
      viewer = sphere(stage, { url, caption: `${filename} · ${role}` })
      viewer.viewer.addEventListener('panorama-loaded', () => stage.setAttribute('data-loaded', String(index)))
    } else {
      await viewer.show(url, `${filename} · ${role}`)
      if (mine === seq) stage.setAttribute('data-loaded', String(index))
    }
  }
  scrub.addEventListener('input', () => void show(+scrub.value - 1))
  prev.addEventListener('click', () => void show(index - 1))
  next.addEventListener('click', () => void show(index + 1))

  const onKey = (e: KeyboardEvent) => {
    if (e.target instanceof HTMLInputElement || (equirect && stage.contains(e.target as Node))) return // the viewer's own keys
    const keys: Record<string, () => void> = {
      ArrowLeft: () => void show(index - 1), ArrowRight: () => void show(index + 1),
      Home: () => void show(0), End: () => void show(frames.length - 1),
    }
    if (keys[e.key]) { e.preventDefault(); keys[e.key]() }
  }
  document.addEventListener('keydown', onKey)

  const loadThumbs = async () => { // a few at a time, in order
    let next = 0
    const worker = async () => {
      while (next < frames.length && !aborter.signal.aborted) {
        const i = next++
        try {
          thumbs[i].src = await fetchFrame(i)
        } catch {
          thumbs[i].replaceWith(h('span', { class: 'thumb none' }, '×'))
        }
      }
    }
    await Promise.all(Array.from({ length: PARALLEL }, worker))
  }

  const el = h('section', { class: 'frames' },
    h('div', { class: 'titlebar' }, h('h1', {}, `${filename}: ${frames.length} frames`),
      h('a', { href: `#/project/${encodeURIComponent(name)}` }, `Back to ${project.title || project.name}`)),
    stage,
    h('div', { class: 'frame-controls', role: 'toolbar', 'aria-label': 'Frames' }, prev, scrub, next, counter),
    strip)
  return {
    el,
    mounted: () => { void show(index); void loadThumbs() },
    destroy: () => {
      aborter.abort()
      document.removeEventListener('keydown', onKey)
      viewer?.destroy()
      for (const p of urls.values()) p.then((u) => URL.revokeObjectURL(u)).catch(() => undefined)
    },
  }
}
