// A point cloud of a project, streamed: the COPC file omnidrop made of it is read node by node with
// HTTP range requests (copc.js, laz-perf in WebAssembly) and drawn with three.js. The root node (the
// whole cloud, coarse) comes first, then finer nodes, nearest and largest on screen first, until the
// point budget is reached; moving the camera loads what came into view.
//
// Routes: #/pointcloud/<project name>/<file name>, and #/view/pointcloud?project=|share=…&file=… from the
// project page (viewers.ts; a share link streams its own asset URL, no credential). Scan positions (E57)
// are drawn as markers; E57 panoramas link to the panorama view.
import * as THREE from 'three'
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js'
import { Copc, type Getter, type Hierarchy } from 'copc'
import { createLazPerf, type LazPerf } from 'laz-perf'
import lazPerfWasm from 'laz-perf/lib/web/laz-perf.wasm?url'
import { ApiError, bearer } from '../api'
import { h } from '../dom'
import type { View } from '../main'
import type { Source } from '../projectsource'

const POINT_BUDGET = 4_000_000 // points drawn at most
const PARALLEL = 4 // node requests in flight
type Mode = 'rgb' | 'intensity' | 'height'

let lazPerf: Promise<LazPerf> | null = null
const wasm = () => (lazPerf ??= createLazPerf({ locateFile: () => lazPerfWasm }))

/** A COPC file over HTTP: range requests carrying the signed-in credential. */
export function rangeGetter(url: string, headers: Record<string, string> = bearer()): Getter {
  return async (begin, end) => {
    const res = await fetch(url, { headers: { ...headers, Range: `bytes=${begin}-${end - 1}` } })
    if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`)
    const body = new Uint8Array(await res.arrayBuffer())
    // A server that ignores Range answers 200 with the whole file: take the part asked for.
    return res.status === 206 ? body : body.subarray(begin, end)
  }
}

type Loaded = { key: string; points: THREE.Points; count: number }
type Stats = { nodes: number; points: number; total: number; firstFrameMs: number | null; done: boolean; order: string[] }

export type CloudViewer = { stats: Stats; setMode: (m: Mode) => void; destroy: () => void }

/** Streams the COPC behind `getter` into `container`; `details` is the file's record details. */
export async function copcViewer(container: HTMLElement, getter: Getter, details: any = {}, onStats?: (s: Stats) => void): Promise<CloudViewer> {
  const started = performance.now()
  void wasm() // the decoder compiles while the header and hierarchy come in
  const copc = await Copc.create(getter)
  const [x0, y0, z0, x1, y1, z1] = copc.info.cube
  const center = new THREE.Vector3((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2)
  const half = (x1 - x0) / 2
  const [hx0, hy0, hz0] = copc.header.min
  const [hx1, hy1, hz1] = copc.header.max
  const zRange: [number, number] = [hz0, Math.max(hz1, hz0 + 1e-6)]

  const renderer = new THREE.WebGLRenderer({ antialias: false, preserveDrawingBuffer: true })
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2))
  renderer.setClearColor(0x101418)
  container.append(renderer.domElement)
  const scene = new THREE.Scene()
  const camera = new THREE.PerspectiveCamera(60, 1, Math.max(half / 1e4, 1e-3), half * 50)
  camera.up.set(0, 0, 1) // LAS and E57 are z-up
  const extent = new THREE.Vector3(hx1 - hx0, hy1 - hy0, hz1 - hz0)
  const focus = new THREE.Vector3((hx0 + hx1) / 2, (hy0 + hy1) / 2, (hz0 + hz1) / 2).sub(center)
  const radius = Math.max(extent.length() / 2, 1e-3)
  camera.position.copy(focus).add(new THREE.Vector3(radius * 0.9, -radius * 1.2, radius * 0.8))
  const controls = new OrbitControls(camera, renderer.domElement)
  controls.target.copy(focus)
  controls.update()

  const material = new THREE.PointsMaterial({ size: 2, sizeAttenuation: false, vertexColors: true })
  let mode: Mode = details.color === false ? (details.intensity ? 'intensity' : 'height') : 'rgb'

  // Scan positions, as small yellow markers.
  for (const scan of details.scans ?? []) {
    if (!scan.position) continue
    const marker = new THREE.Mesh(new THREE.SphereGeometry(radius / 50, 12, 8), new THREE.MeshBasicMaterial({ color: 0xffd400 }))
    marker.position.set(scan.position[0] - center.x, scan.position[1] - center.y, scan.position[2] - center.z)
    marker.name = `scan-${scan.index}`
    scene.add(marker)
  }

  const stats: Stats = { nodes: 0, points: 0, total: copc.header.pointCount, firstFrameMs: null, done: false, order: [] }
  const nodes: Hierarchy.Node.Map = {}
  const pages: Hierarchy.Page.Map = {}
  const loaded = new Map<string, Loaded>()
  const inFlight = new Set<string>()
  const failed = new Set<string>()
  let alive = true
  let dirty = true

  async function loadPage(page: Hierarchy.Page) {
    const sub = await Copc.loadHierarchyPage(getter, page)
    Object.assign(nodes, sub.nodes)
    Object.assign(pages, sub.pages)
  }
  await loadPage(copc.info.rootHierarchyPage)

  function bounds(key: string): [THREE.Vector3, number] {
    const [d, x, y, z] = key.split('-').map(Number)
    const size = (2 * half) / 2 ** d
    return [new THREE.Vector3(x0 + (x + 0.5) * size, y0 + (y + 0.5) * size, z0 + (z + 0.5) * size).sub(center), size]
  }

  /** Projected size of a node: bigger and nearer first; nodes behind the camera last. */
  function priority(key: string): number {
    const [c, size] = bounds(key)
    const dist = Math.max(c.distanceTo(camera.position) - size * 0.87, 1e-6)
    const toNode = c.clone().sub(camera.position).normalize()
    const facing = toNode.dot(camera.getWorldDirection(new THREE.Vector3())) > -0.2 ? 1 : 0.1
    return (size / dist) * facing
  }

  function childrenOf(key: string): string[] {
    const [d, x, y, z] = key.split('-').map(Number)
    const out: string[] = []
    for (let i = 0; i < 8; i++) out.push(`${d + 1}-${2 * x + (i & 1)}-${2 * y + ((i >> 1) & 1)}-${2 * z + ((i >> 2) & 1)}`)
    return out
  }

  function colorise(view: any, count: number): Float32Array {
    const colors = new Float32Array(count * 3)
    if (mode === 'rgb' && view.dimensions.Red) {
      const r = view.getter('Red'), g = view.getter('Green'), b = view.getter('Blue')
      let max = 0
      for (let i = 0; i < count; i += Math.max(1, count >> 8)) max = Math.max(max, r(i), g(i), b(i))
      const s = max > 255 ? 1 / 65535 : 1 / 255 // 8-bit colour written as is by some tools
      for (let i = 0; i < count; i++) { colors[3 * i] = r(i) * s; colors[3 * i + 1] = g(i) * s; colors[3 * i + 2] = b(i) * s }
    } else if (mode === 'intensity' && view.dimensions.Intensity) {
      const it = view.getter('Intensity')
      for (let i = 0; i < count; i++) { const v = Math.sqrt(it(i) / 65535); colors[3 * i] = colors[3 * i + 1] = colors[3 * i + 2] = v }
    } else {
      const z = view.getter('Z')
      const c = new THREE.Color()
      for (let i = 0; i < count; i++) {
        c.setHSL(0.7 * (1 - (z(i) - zRange[0]) / (zRange[1] - zRange[0])), 0.8, 0.5)
        colors[3 * i] = c.r; colors[3 * i + 1] = c.g; colors[3 * i + 2] = c.b
      }
    }
    return colors
  }

  const views = new Map<string, any>() // decoded node data, kept to recolour without refetching

  async function loadNode(key: string) {
    inFlight.add(key)
    try {
      const node = nodes[key]!
      const view = await Copc.loadPointDataView(getter, copc, node, { lazPerf: await wasm() })
      if (!alive) return
      const n = view.pointCount
      const px = view.getter('X'), py = view.getter('Y'), pz = view.getter('Z')
      const pos = new Float32Array(n * 3)
      for (let i = 0; i < n; i++) { pos[3 * i] = px(i) - center.x; pos[3 * i + 1] = py(i) - center.y; pos[3 * i + 2] = pz(i) - center.z }
      const geometry = new THREE.BufferGeometry()
      geometry.setAttribute('position', new THREE.BufferAttribute(pos, 3))
      geometry.setAttribute('color', new THREE.BufferAttribute(colorise(view, n), 3))
      const points = new THREE.Points(geometry, material)
      points.name = key
      scene.add(points)
      views.set(key, view)
      loaded.set(key, { key, points, count: n })
      stats.nodes++
      stats.points += n
      if (stats.order.length < 64) stats.order.push(key)
      dirty = true
    } catch (err) {
      failed.add(key)
      console.warn(`point cloud node ${key}:`, err)
    } finally {
      inFlight.delete(key)
      schedule()
    }
  }

  /** Next nodes to fetch: children of loaded nodes (and hierarchy pages on the way), by priority. */
  function schedule() {
    if (!alive) return
    const candidates: string[] = []
    const consider = (key: string) => {
      if (loaded.has(key) || inFlight.has(key) || failed.has(key)) return
      if (pages[key] && !nodes[key]) {
        const page = pages[key]!
        delete pages[key]
        inFlight.add(`page:${key}`)
        loadPage(page).catch((e) => console.warn('hierarchy page', key, e)).finally(() => { inFlight.delete(`page:${key}`); schedule() })
        return
      }
      if (nodes[key] && nodes[key]!.pointCount > 0) candidates.push(key)
    }
    if (!loaded.has('0-0-0-0')) consider('0-0-0-0')
    for (const key of loaded.keys()) for (const child of childrenOf(key)) consider(child)
    candidates.sort((a, b) => priority(b) - priority(a))
    for (const key of candidates) {
      if (inFlight.size >= PARALLEL) break
      if (stats.points + nodes[key]!.pointCount > POINT_BUDGET) continue
      void loadNode(key)
    }
    stats.done = inFlight.size === 0
    onStats?.(stats)
  }

  function resize() {
    const w = container.clientWidth || 800
    const hgt = container.clientHeight || 500
    renderer.setSize(w, hgt, false)
    camera.aspect = w / hgt
    camera.updateProjectionMatrix()
    dirty = true
  }
  const observer = new ResizeObserver(resize)
  observer.observe(container)
  resize()

  let settle: number | undefined
  controls.addEventListener('change', () => {
    dirty = true
    clearTimeout(settle)
    settle = window.setTimeout(schedule, 150) // load what came into view once the camera rests
  })

  function frame() {
    if (!alive) return
    requestAnimationFrame(frame)
    if (!dirty) return
    dirty = false
    renderer.render(scene, camera)
    if (stats.firstFrameMs === null && stats.points > 0) {
      stats.firstFrameMs = Math.round(performance.now() - started)
      container.dataset.firstFrameMs = String(stats.firstFrameMs)
      onStats?.(stats)
    }
  }
  requestAnimationFrame(frame)
  schedule()

  return {
    stats,
    setMode(m: Mode) {
      mode = m
      for (const [key, l] of loaded) {
        l.points.geometry.setAttribute('color', new THREE.BufferAttribute(colorise(views.get(key), l.count), 3))
      }
      dirty = true
    },
    destroy() {
      alive = false
      observer.disconnect()
      controls.dispose()
      for (const l of loaded.values()) l.points.geometry.dispose()
      material.dispose()
      renderer.dispose()
      renderer.domElement.remove()
    },
  }
}

function fmt(n: number): string {
  return n.toLocaleString('en')
}

export async function pointCloudView(src: Source, file: string): Promise<View> {
  const f = await src.file(file)
  const d = f.details ?? {}
  const title = h('h1', {}, file)
  const status = h('p', { id: 'pointcloud-status', 'aria-live': 'polite' }, 'Loading…')
  const box = h('div', { class: 'pointcloud', id: 'pointcloud-view', role: 'application', 'aria-label': `3D view of ${file}` })
  const facts = h('dl', { class: 'facts', id: 'pointcloud-facts' })
  const fact = (k: string, v: string) => facts.append(h('dt', {}, k), h('dd', {}, v))
  if (d.points != null && !d.error) fact('Points', fmt(d.points))
  if (d.bounds) fact('Bounds', `${d.bounds.min.map((v: number) => v.toFixed(2)).join(', ')} → ${d.bounds.max.map((v: number) => v.toFixed(2)).join(', ')}`)
  if (d.crs) fact('CRS', d.crs.epsg ? `EPSG:${d.crs.epsg}` : String(d.crs.wkt ?? '').slice(0, 80))
  if (d.scans?.length) fact('Scans', String(d.scans.length))
  const panos = (d.panoramas ?? []).filter((x: any) => f.assets?.[x.role])
  const links = h('div', { class: 'actions' }, ...panos.map((x: any) => h('a', {
    class: 'button', href: `#/panorama?src=${encodeURIComponent(src.shared ? f.assets[x.role] : new URL(f.assets[x.role]).pathname)}${src.shared ? '' : '&auth=1'}&title=${encodeURIComponent(x.name ?? x.role)}`,
  }, `Panorama: ${x.name ?? x.role}`)))
  const select = h('select', { id: 'pointcloud-colour', 'aria-label': 'Colour by' },
    h('option', { value: 'rgb' }, 'Colour'), h('option', { value: 'intensity' }, 'Intensity'), h('option', { value: 'height' }, 'Height'))
  const controls = h('div', { class: 'actions' }, h('label', {}, 'Colour by ', select))
  const el = h('section', { class: 'pointcloud-page' },
    h('div', { class: 'titlebar' }, title, h('a', { href: src.projectHref }, 'Project')),
    status, box, controls, links, facts)
  const nothingToShow = (text: string, error = false) => {
    status.textContent = text
    if (error) status.className = 'error'
    box.hidden = controls.hidden = true
  }

  let viewer: CloudViewer | null = null
  let gone = false
  const onStats = (s: Stats) => {
    status.textContent = `${fmt(s.points)} of ${fmt(s.total)} points · ${s.nodes} node${s.nodes === 1 ? '' : 's'}${s.done ? '' : ' · loading…'}`
    box.dataset.points = String(s.points)
    box.dataset.nodes = String(s.nodes)
    box.dataset.order = s.order.join(' ') // the first nodes in the order they arrived (root first)
  }
  return {
    el,
    mounted: () => {
      if (d.error) return nothingToShow(`This point cloud could not be converted: ${d.error_message ?? d.error}`, true)
      const url = f.assets?.copc
      if (!url) return nothingToShow('No streamed copy of this point cloud.')
      copcViewer(box, rangeGetter(src.shared ? url : new URL(url).pathname, src.headers()), d, onStats).then((v) => {
        if (gone) return v.destroy()
        viewer = v
        select.value = d.color === false ? (d.intensity ? 'intensity' : 'height') : 'rgb'
        select.onchange = () => v.setMode(select.value as Mode)
      }).catch((err) => nothingToShow(`Cannot open the point cloud: ${err.message ?? err}`, true))
    },
    destroy: () => { gone = true; viewer?.destroy() },
  }
}
