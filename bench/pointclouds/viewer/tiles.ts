// py3dtiles' output in 3d-tiles-renderer (NASA-AMMOS), the three.js 3D Tiles viewer: ?src=<tileset.json>.
import * as THREE from 'three'
import { TilesRenderer } from '3d-tiles-renderer'

const src = new URLSearchParams(location.search).get('src')!
const renderer = new THREE.WebGLRenderer({ antialias: false, preserveDrawingBuffer: true })
renderer.setSize(window.innerWidth, window.innerHeight)
renderer.setClearColor(0x101418)
document.body.append(renderer.domElement)
const scene = new THREE.Scene()
const camera = new THREE.PerspectiveCamera(60, window.innerWidth / window.innerHeight, 0.1, 1e7)
camera.up.set(0, 0, 1)
const tiles = new TilesRenderer(src)
tiles.setCamera(camera)
tiles.setResolutionFromRenderer(camera, renderer)
scene.add(tiles.group)
let models = 0
tiles.addEventListener('load-tile-set', () => {
  const sphere = new THREE.Sphere()
  tiles.getBoundingSphere(sphere)
  sphere.applyMatrix4(tiles.group.matrixWorld)
  const r = sphere.radius
  camera.position.copy(sphere.center).add(new THREE.Vector3(r * 0.9, -r * 1.2, r * 0.8))
  camera.near = r / 1e4
  camera.far = r * 50
  camera.updateProjectionMatrix()
  camera.lookAt(sphere.center)
})
tiles.addEventListener('load-model', () => { models++ })
function frame() {
  requestAnimationFrame(frame)
  camera.updateMatrixWorld()
  tiles.update()
  renderer.render(scene, camera)
  if (models > 0 && !document.body.dataset.firstFrameMs) document.body.dataset.firstFrameMs = String(Math.round(performance.now()))
}
frame()
