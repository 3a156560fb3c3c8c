// A three.js stage for the 3D viewers (splats, meshes): renderer, camera, orbit controls, fullscreen,
// resizing with its box, and framing the camera on a bounding box. The render loop runs while mounted.
import * as THREE from 'three'
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js'
import { bearer } from './api'

export type Stage = {
  scene: THREE.Scene
  camera: THREE.PerspectiveCamera
  renderer: THREE.WebGLRenderer
  controls: OrbitControls
  frame: (box: THREE.Box3) => void
  fullscreen: () => Promise<void>
  frames: () => number
  destroy: () => void
}

export function stage(box: HTMLElement, opts: { background?: number; antialias?: boolean } = {}): Stage {
  const renderer = new THREE.WebGLRenderer({ antialias: opts.antialias ?? true, preserveDrawingBuffer: true })
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2))
  renderer.setClearColor(opts.background ?? 0x15181d)
  renderer.domElement.setAttribute('tabindex', '0')
  box.append(renderer.domElement)
  const scene = new THREE.Scene()
  const camera = new THREE.PerspectiveCamera(50, 1, 0.01, 1000)
  camera.position.set(2, 1.5, 3)
  const controls = new OrbitControls(camera, renderer.domElement)
  controls.enableDamping = true
  controls.listenToKeyEvents(renderer.domElement) // arrow keys pan once the canvas has focus

  const resize = () => {
    const w = Math.max(1, box.clientWidth)
    const h = Math.max(1, box.clientHeight)
    renderer.setSize(w, h, false)
    camera.aspect = w / h
    camera.updateProjectionMatrix()
  }
  const observer = new ResizeObserver(resize)
  observer.observe(box)
  resize()

  let drawn = 0
  renderer.setAnimationLoop(() => {
    controls.update()
    renderer.render(scene, camera)
    drawn++
  })

  function frame(bounds: THREE.Box3): void {
    if (bounds.isEmpty()) return
    const centre = bounds.getCenter(new THREE.Vector3())
    const radius = Math.max(bounds.getSize(new THREE.Vector3()).length() / 2, 1e-6)
    const distance = radius / Math.sin(THREE.MathUtils.degToRad(camera.fov / 2)) * 1.05
    const dir = new THREE.Vector3(0.55, 0.4, 0.75).normalize()
    camera.position.copy(centre).addScaledVector(dir, distance)
    camera.near = distance / 1000
    camera.far = distance * 100
    camera.updateProjectionMatrix()
    controls.target.copy(centre)
    controls.update()
  }

  return {
    scene, camera, renderer, controls, frame,
    fullscreen: async () => {
      if (document.fullscreenElement) await document.exitFullscreen()
      else await box.requestFullscreen()
    },
    frames: () => drawn,
    destroy: () => {
      renderer.setAnimationLoop(null)
      observer.disconnect()
      controls.dispose()
      renderer.dispose()
    },
  }
}

/** The bytes of a viewer's source: with the signed-in credential (`auth`), else as a plain (signed) URL. */
export async function sourceBytes(src: string, auth: boolean, onProgress?: (done: number, total: number) => void): Promise<ArrayBuffer> {
  const res = await fetch(src, { headers: auth ? bearer() : {} })
  if (!res.ok) throw new Error(`could not load the model: ${res.status} ${res.statusText}`)
  const total = Number(res.headers.get('content-length') ?? 0)
  if (!res.body || !onProgress) return res.arrayBuffer()
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let done = 0
  for (;;) {
    const { value, done: end } = await reader.read()
    if (end) break
    parts.push(value)
    done += value.length
    onProgress(done, total)
  }
  const out = new Uint8Array(done)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out.buffer
}
