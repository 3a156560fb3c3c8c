// A 3D model (GLB) in three.js: #/model?src=<url>[&auth=1][&up=z][&title=…]. `auth` fetches the bytes with the
// signed-in credential (project assets); without it `src` is loaded as it is (a signed or public URL).
// glTF is +Y up; `up=z` (or the Z-up button) stands up a CAD model drawn with +Z up.
import * as THREE from 'three'
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js'
import { RoomEnvironment } from 'three/examples/jsm/environments/RoomEnvironment.js'
import { bytes } from '../api'
import { h } from '../dom'
import type { View } from '../main'
import { sourceBytes, stage, type Stage } from '../stage'

export async function modelView(q: URLSearchParams): Promise<View> {
  const src = q.get('src')
  if (!src) throw new Error('no model given')
  const title = q.get('title') || '3D model'
  const status = h('p', { id: 'viewer-status', class: 'muted', 'aria-live': 'polite' }, 'Loading model…')
  const box = h('div', { class: 'stage', id: 'model-viewer', role: 'application',
    'aria-label': `3D view of ${title}. Drag to orbit, scroll to zoom, right-drag or arrow keys to pan.` })
  let s: Stage | null = null
  let root: THREE.Object3D | null = null
  let wire = false
  const wireframe = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => {
    wire = !wire
    wireframe.setAttribute('aria-pressed', String(wire))
    root?.traverse((o) => {
      const m = (o as THREE.Mesh).material as THREE.Material | THREE.Material[] | undefined
      for (const mat of Array.isArray(m) ? m : m ? [m] : []) if ('wireframe' in mat) (mat as THREE.MeshStandardMaterial).wireframe = wire
    })
  } }, 'Wireframe')
  let zUp = q.get('up') === 'z'
  const orient = () => {
    if (!root || !s) return
    root.rotation.set(zUp ? -Math.PI / 2 : 0, 0, 0)
    zAxis.setAttribute('aria-pressed', String(zUp))
    s.frame(new THREE.Box3().setFromObject(root))
  }
  const zAxis = h('button', { type: 'button', 'aria-pressed': String(zUp), title: 'The model was drawn with +Z up (CAD, 3D printing)',
    onclick: () => { zUp = !zUp; orient() } }, 'Z up')
  const full = h('button', { type: 'button', onclick: () => s?.fullscreen() }, 'Fullscreen')
  const el = h('section', { class: 'viewer3d' },
    h('div', { class: 'titlebar' }, h('h1', {}, title), h('a', { href: 'javascript:history.back()' }, 'Back')),
    box, h('div', { class: 'actions' }, wireframe, zAxis, full), status)

  const mounted = () => {
    s = stage(box, { background: 0xeef0f3 })
    const st = s
    // A neutral room as the environment: glTF's default material is fully metallic, which only an
    // environment lights. A small (64 px) prefiltered map: quick even on software WebGL and old phones.
    const pmrem = new THREE.PMREMGenerator(st.renderer)
    st.scene.environment = pmrem.fromScene(new RoomEnvironment(), 0.04, 0.1, 100, { size: 64 }).texture
    pmrem.dispose()
    const sun = new THREE.DirectionalLight(0xffffff, 1.2)
    sun.position.set(3, 5, 4)
    st.camera.add(sun) // moves with the viewer: the side turned to it is lit
    st.scene.add(st.camera)
    void (async () => {
      try {
        const data = await sourceBytes(src, q.get('auth') === '1', (done, total) => {
          status.textContent = `Loading model… ${bytes(done)}${total ? ` of ${bytes(total)}` : ''}`
        })
        const gltf = await new GLTFLoader().parseAsync(data, '')
        root = gltf.scene
        st.scene.add(root)
        orient()
        let faces = 0
        root.traverse((o) => {
          const g = (o as THREE.Mesh).geometry as THREE.BufferGeometry | undefined
          if ((o as THREE.Mesh).isMesh && g) faces += (g.index ? g.index.count : g.attributes.position.count) / 3
        })
        status.textContent = `${faces.toLocaleString()} triangles · ${bytes(data.byteLength)}`
        box.setAttribute('data-loaded', 'true')
      } catch (err) {
        status.textContent = `Could not show the model: ${(err as Error).message ?? err}`
        status.className = 'error'
        box.setAttribute('data-failed', 'true')
      }
    })()
  }
  return { el, mounted, destroy: () => s?.destroy() }
}
