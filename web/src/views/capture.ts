// A shared capture in 3D: #/capture/<sid>. Public (no sign-in): it reads /share/<sid>/metadata like any
// client and draws the sparse point cloud (sparse.ply) with a frustum per registered camera (three.js).
// A trained splat is linked to the splat viewer; until one exists the page says where training stands.
import * as THREE from 'three'
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js'
import { PLYLoader } from 'three/examples/jsm/loaders/PLYLoader.js'
import { bearer } from '../api'
import { h } from '../dom'
import type { View } from '../main'

type Frame = { name: string; width: number; height: number; K: number[][] }
type Meta = {
  name: string
  state: string
  cameras: { matrix: number[] }[]
  models: { url: string; size: number }[]
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
  splat: { state: string; progress: number; psnr?: number | null }
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
  const stage = h('div', { class: 'capture-stage', role: 'img', 'aria-label': `Sparse point cloud and cameras of ${meta.name}` })
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
  const el = h('section', { class: 'capture3d' },
    h('div', { class: 'titlebar' }, h('h1', {}, meta.name)), facts, h('p', { class: 'splat-state' }, splatLine), stage)
  let dispose = () => {}
  const mounted = () => {
    if (recon?.state !== 'done') return
    dispose = draw(stage, recon.downloads!.sparse_ply, meta.cameras.map((c) => c.matrix), recon.frames ?? [])
  }
  return { el, mounted, destroy: () => dispose() }
}

// COLMAP/OpenCV camera axes (x right, y down, z forward) in a world whose y points down: three.js shows
// the scene turned over (x by 180°) so "up" is up on screen.
function draw(stage: HTMLElement, plyUrl: string, matrices: number[][], frames: Frame[]): () => void {
  const width = stage.clientWidth || 800
  const height = stage.clientHeight || 500
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true })
  renderer.setPixelRatio(window.devicePixelRatio)
  renderer.setSize(width, height)
  stage.appendChild(renderer.domElement)
  const scene = new THREE.Scene()
  scene.background = new THREE.Color(0x111318)
  const world = new THREE.Group()
  world.rotation.x = Math.PI
  scene.add(world)
  const camera = new THREE.PerspectiveCamera(55, width / height, 0.01, 10000)
  const controls = new OrbitControls(camera, renderer.domElement)

  const centres = matrices.map((m) => new THREE.Vector3(m[3], m[7], m[11]))
  const box = new THREE.Box3().setFromPoints(centres.length ? centres : [new THREE.Vector3()])
  const size = Math.max(box.getSize(new THREE.Vector3()).length(), 1e-3)
  world.add(frustums(matrices, frames, size * 0.06))

  const fit = (bounds: THREE.Box3) => {
    const centre = bounds.getCenter(new THREE.Vector3()).applyMatrix4(world.matrixWorld)
    const radius = Math.max(bounds.getSize(new THREE.Vector3()).length(), size) * 0.55
    camera.position.copy(centre).add(new THREE.Vector3(radius * 0.6, radius * 0.5, radius))
    camera.near = radius / 1000
    camera.far = radius * 100
    camera.updateProjectionMatrix()
    controls.target.copy(centre)
    controls.update()
  }
  world.updateMatrixWorld()
  fit(box)

  new PLYLoader().load(plyUrl, (geometry) => {
    const material = new THREE.PointsMaterial({ size: size * 0.012, vertexColors: geometry.hasAttribute('color') })
    world.add(new THREE.Points(geometry, material))
    geometry.computeBoundingBox()
    const all = box.clone().union(geometry.boundingBox!)
    world.updateMatrixWorld()
    fit(all)
    stage.setAttribute('data-points', String(geometry.getAttribute('position').count))
  })

  let frame = 0
  const loop = () => {
    controls.update()
    renderer.render(scene, camera)
    frame = requestAnimationFrame(loop)
  }
  loop()
  stage.setAttribute('data-cameras', String(matrices.length))
  const onResize = () => {
    const w = stage.clientWidth || width
    const hh = stage.clientHeight || height
    renderer.setSize(w, hh)
    camera.aspect = w / hh
    camera.updateProjectionMatrix()
  }
  window.addEventListener('resize', onResize)
  return () => {
    cancelAnimationFrame(frame)
    window.removeEventListener('resize', onResize)
    controls.dispose()
    renderer.dispose()
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
