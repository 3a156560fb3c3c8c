// A shared capture in 3D: #/capture/<sid>. Public (no sign-in): it reads /share/<sid>/metadata like any
// client. Once a splat is trained the page draws it (Spark, from its SPZ copy, else its SOG); a button
// switches to the sparse point cloud (sparse.ply) with a frustum per registered camera (three.js), which
// is all it draws before or without a splat. Until one exists the page says where training stands.
import * as THREE from 'three'
import { PLYLoader } from 'three/examples/jsm/loaders/PLYLoader.js'
import { bearer, bytes } from '../api'
import { h } from '../dom'
import type { View } from '../main'
import { sourceBytes, stage } from '../stage'
import { addSplat, coreBox } from './splat'

type Frame = { name: string; width: number; height: number; K: number[][] }
type Meta = {
  name: string
  state: string
  cameras: { matrix: number[] }[]
  models: { url: string; size: number; id?: string | null }[]
  reconstruction: null | {
    state: string
    registered?: number
    total?: number
    mean_reprojection_error?: number
    points?: number
    message?: string
    frames?: Frame[]
    downloads?: Record<string, string>
  }
  splat: { state: string; progress: number; psnr?: number | null; spz?: { url: string; size: number } }
}

const SPLAT_TEXT: Record<string, string> = {
  none: 'No splat: the capture has no camera poses.',
  waiting: 'The splat waits for a GPU worker (omnidrop worker --queue gpu).',
  training: 'The splat is training',
  failed: 'Splat training failed.',
}

export async function captureView(sid: string): Promise<View> {
  // No key needed for a public capture; a private one opens only with its owner's (sent when signed in).
  const r = await fetch(`/share/${encodeURIComponent(sid)}/metadata?lod=false&profiles=ply&profiles=sogs-sh0&quality=high`, { headers: bearer() })
  if (!r.ok) throw new Error(r.status === 404 ? 'This capture is private or does not exist.' : `metadata: HTTP ${r.status}`)
  const meta = (await r.json()) as Meta
  const recon = meta.reconstruction
  const stageEl = h('div', { class: 'capture-stage', role: 'img', 'aria-label': `3D view of ${meta.name}` })
  const splat = meta.splat
  const splatLine =
    splat.state === 'done'
      ? h('span', {}, `Splat trained${splat.psnr != null ? ` (held-out PSNR ${splat.psnr.toFixed(2)} dB)` : ''}. `,
          ...meta.models.map((m, i) => h('a', { href: m.url, download: '' }, i ? ' SOG' : 'PLY')))
      : h('span', {}, splat.state === 'training' ? `${SPLAT_TEXT.training} (${Math.round(splat.progress * 100)} %).` : SPLAT_TEXT[splat.state] ?? splat.state)
  const facts =
    recon?.state === 'done'
      ? h('p', { class: 'facts' },
          `${recon.registered} of ${recon.total} frames posed, mean reprojection error ${recon.mean_reprojection_error!.toFixed(2)} px, ${recon.points} points. `,
          h('a', { href: recon.downloads!.colmap_text_zip }, 'COLMAP text'), ' · ',
          h('a', { href: recon.downloads!.sparse_ply }, 'sparse.ply'))
      : h('p', { class: 'facts' }, recon ? `No 3D model: ${recon.message}` : `The capture is ${meta.state}: no 3D model yet.`)
  const sog = meta.models.find((m) => m.id === 'splat-sogs-sh0')
  const splatSource = splat.state !== 'done' ? null
    : splat.spz ? { url: splat.spz.url, format: 'spz' } : sog ? { url: sog.url, format: 'sog' } : null
  const matrices = meta.cameras.map((c) => c.matrix)
  const status = h('p', { class: 'muted capture-status', 'aria-live': 'polite' })
  const toggle = h('button', { type: 'button', id: 'capture-view-toggle', hidden: !(splatSource && recon?.state === 'done') })
  const el = h('section', { class: 'capture3d' },
    h('div', { class: 'titlebar' }, h('h1', {}, meta.name)), facts, h('p', { class: 'splat-state' }, splatLine),
    stageEl, h('div', { class: 'actions' }, toggle), status)

  let dispose = () => {}
  const show = (what: 'splat' | 'cloud') => {
    dispose()
    stageEl.replaceChildren()
    for (const a of ['data-points', 'data-cameras', 'data-splats', 'data-failed']) stageEl.removeAttribute(a)
    stageEl.dataset.view = what
    status.textContent = ''
    if (what === 'splat' && splatSource) {
      toggle.textContent = 'Show cameras and points'
      dispose = drawSplat(stageEl, splatSource, matrices, status)
    } else if (recon?.state === 'done') {
      toggle.textContent = 'Show the splat'
      dispose = draw(stageEl, recon.downloads!.sparse_ply, matrices, recon.frames ?? [])
    }
  }
  toggle.addEventListener('click', () => show(stageEl.dataset.view === 'splat' ? 'cloud' : 'splat'))
  const mounted = () => show(splatSource ? 'splat' : 'cloud')
  return { el, mounted, destroy: () => dispose() }
}

// The trained splat in Spark, turned over as the cloud is (COLMAP axes, y down), framed on where most of
// it is, kept near the cameras: the splat's floaters can reach far beyond the scene.
function drawSplat(stageEl: HTMLElement, source: { url: string; format: string }, matrices: number[][],
                   status: HTMLElement): () => void {
  const st = stage(stageEl, { background: 0x111318 })
  let mesh: { dispose: () => void } | null = null
  let gone = false
  void (async () => {
    try {
      const data = await sourceBytes(source.url, false, (done, total) => {
        status.textContent = `Loading splat… ${bytes(done)}${total ? ` of ${bytes(total)}` : ''}`
      })
      if (gone) return
      const splat = await addSplat(st, data, { format: source.format, flip: true })
      if (gone) { splat.dispose(); return } // switched away while Spark read it
      mesh = splat
      st.frame(framing(coreBox(splat), matrices, splat.matrixWorld))
      const count = splat.packedSplats?.numSplats ?? 0
      stageEl.setAttribute('data-splats', String(count))
      status.textContent = `${count.toLocaleString()} Gaussians · ${bytes(data.byteLength)} (${source.format.toUpperCase()})`
    } catch (err) {
      status.textContent = `Could not show the splat: ${(err as Error).message ?? err}`
      status.className = 'error capture-status'
      stageEl.setAttribute('data-failed', 'true')
    }
  })()
  return () => {
    gone = true
    mesh?.dispose()
    st.destroy()
  }
}

// The splat's core, cut to the cameras' box grown by half its size on every side (the scene a capture
// looked at lies within reach of its cameras); the core alone where that leaves nothing or there are no
// cameras to go by.
function framing(core: THREE.Box3, matrices: number[][], toWorld: THREE.Matrix4): THREE.Box3 {
  if (matrices.length < 2) return core
  const cameras = new THREE.Box3().setFromPoints(matrices.map((m) => new THREE.Vector3(m[3], m[7], m[11]))).applyMatrix4(toWorld)
  const reach = cameras.expandByVector(cameras.getSize(new THREE.Vector3()).multiplyScalar(0.5))
  const cut = core.clone().intersect(reach)
  return cut.isEmpty() ? core : cut
}

// COLMAP/OpenCV camera axes (x right, y down, z forward) in a world whose y points down: three.js shows
// the scene turned over (x by 180°) so "up" is up on screen.
function draw(box: HTMLElement, plyUrl: string, matrices: number[][], frames: Frame[]): () => void {
  const st = stage(box, { background: 0x111318 })
  const world = new THREE.Group()
  world.rotation.x = Math.PI
  world.updateMatrixWorld()
  st.scene.add(world)

  const centres = matrices.map((m) => new THREE.Vector3(m[3], m[7], m[11]))
  const bounds = new THREE.Box3().setFromPoints(centres.length ? centres : [new THREE.Vector3()])
  const size = Math.max(bounds.getSize(new THREE.Vector3()).length(), 1e-3)
  world.add(frustums(matrices, frames, size * 0.06))
  const fit = (b: THREE.Box3) => st.frame(b.clone().applyMatrix4(world.matrixWorld))
  fit(bounds)

  let gone = false
  new PLYLoader().load(plyUrl, (geometry) => {
    if (gone) return
    const material = new THREE.PointsMaterial({ size: size * 0.012, vertexColors: geometry.hasAttribute('color') })
    world.add(new THREE.Points(geometry, material))
    geometry.computeBoundingBox()
    fit(bounds.clone().union(geometry.boundingBox!))
    box.setAttribute('data-points', String(geometry.getAttribute('position').count))
  })
  box.setAttribute('data-cameras', String(matrices.length))
  return () => {
    gone = true
    st.destroy()
  }
}

// One pyramid per camera: apex at its centre, the image's corners at `depth` along its z axis.
function frustums(matrices: number[][], frames: Frame[], depth: number): THREE.LineSegments {
  const points: number[] = []
  matrices.forEach((m, i) => {
    const f = frames[i]
    const fx = f ? f.K[0][0] : 1
    const fy = f ? f.K[1][1] : 1
    const hw = f ? f.width / 2 / fx : 0.5
    const hh = f ? f.height / 2 / fy : 0.4
    const world = new THREE.Matrix4().set(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[11], 0, 0, 0, 1)
    const apex = new THREE.Vector3(0, 0, 0).applyMatrix4(world)
    const corners = [[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]].map(([x, y]) => new THREE.Vector3(x * depth, y * depth, depth).applyMatrix4(world))
    for (let c = 0; c < 4; c++) {
      const a = corners[c]
      const b = corners[(c + 1) % 4]
      points.push(apex.x, apex.y, apex.z, a.x, a.y, a.z, a.x, a.y, a.z, b.x, b.y, b.z)
    }
    // The image's top edge marked: which way is up for this camera.
    const up = new THREE.Vector3(0, -hh * depth * 1.4, depth).applyMatrix4(world)
    points.push(corners[0].x, corners[0].y, corners[0].z, up.x, up.y, up.z, up.x, up.y, up.z, corners[1].x, corners[1].y, corners[1].z)
  })
  const geometry = new THREE.BufferGeometry()
  geometry.setAttribute('position', new THREE.Float32BufferAttribute(points, 3))
  return new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color: 0xffb020 }))
}
