// A Gaussian splat in Spark (three.js): #/splat?src=<url>[&auth=1][&format=sog|spz|ply|splat|ksplat][&flip=1][&title=…].
// `auth` fetches the bytes with the signed-in credential (project assets); without it `src` is loaded as
// it is (a signed or public URL, as share links and captures give). Spark tells SOG, SPZ and PLY apart
// by their bytes; `format` is needed for .splat/.ksplat, which have no signature. `flip=1` starts it turned
// upside down (captures trained in COLMAP/OpenCV axes, Y down); the Flip button does the same.
import * as THREE from 'three'
import { SparkRenderer, SplatFileType, SplatMesh } from '@sparkjsdev/spark'
import { bytes } from '../api'
import { h } from '../dom'
import type { View } from '../main'
import { sourceBytes, stage, type Stage } from '../stage'

const FILE_TYPES: Record<string, SplatFileType> = {
  ply: SplatFileType.PLY, spz: SplatFileType.SPZ, splat: SplatFileType.SPLAT, ksplat: SplatFileType.KSPLAT, sog: SplatFileType.PCSOGSZIP,
}

export async function splatView(q: URLSearchParams): Promise<View> {
  const src = q.get('src')
  if (!src) throw new Error('no splat given')
  const title = q.get('title') || 'Gaussian splat'
  const status = h('p', { id: 'viewer-status', class: 'muted', 'aria-live': 'polite' }, 'Loading splat…')
  const box = h('div', { class: 'stage', id: 'splat-viewer', role: 'application',
    'aria-label': `3D view of ${title}. Drag to orbit, scroll to zoom, right-drag or arrow keys to pan.` })
  let s: Stage | null = null
  let mesh: SplatMesh | null = null
  const flip = h('button', { type: 'button', title: 'Turn the splat upside down (captures trained in OpenCV axes)',
    onclick: () => { if (mesh) { mesh.rotateX(Math.PI); s?.frame(coreBox(mesh)) } } }, 'Flip')
  const full = h('button', { type: 'button', onclick: () => s?.fullscreen() }, 'Fullscreen')
  const el = h('section', { class: 'viewer3d' },
    h('div', { class: 'titlebar' }, h('h1', {}, title), h('a', { href: 'javascript:history.back()' }, 'Back')),
    box, h('div', { class: 'actions' }, flip, full), status)

  const mounted = () => {
    s = stage(box)
    const st = s
    void (async () => {
      try {
        const data = await sourceBytes(src, q.get('auth') === '1', (done, total) => {
          status.textContent = `Loading splat… ${bytes(done)}${total ? ` of ${bytes(total)}` : ''}`
        })
        mesh = await addSplat(st, data, { format: q.get('format') ?? '', flip: q.get('flip') === '1' })
        st.frame(coreBox(mesh))
        status.textContent = `${mesh.packedSplats?.numSplats?.toLocaleString() ?? '?'} splats · ${bytes(data.byteLength)}`
        box.setAttribute('data-loaded', 'true')
      } catch (err) {
        status.textContent = `Could not show the splat: ${(err as Error).message ?? err}`
        status.className = 'error'
        box.setAttribute('data-failed', 'true')
      }
    })()
  }
  return { el, mounted, destroy: () => { mesh?.dispose(); s?.destroy() } }
}

/** A splat's bytes as a Spark mesh on `st`, drawn once it resolves. `format` as the page's query (needed
 * for .splat/.ksplat only); `flip` turns it upside down (COLMAP/OpenCV axes, Y down). */
export async function addSplat(st: Stage, data: ArrayBuffer, opts: { format?: string; flip?: boolean } = {}): Promise<SplatMesh> {
  st.scene.add(new SparkRenderer({ renderer: st.renderer }))
  const fileType = FILE_TYPES[opts.format ?? '']
  const mesh = new SplatMesh({ fileBytes: data, ...(fileType ? { fileType } : {}) })
  if (opts.flip) mesh.rotateX(Math.PI)
  st.scene.add(mesh)
  await mesh.initialized
  return mesh
}

/** Where most of a splat is, in world coordinates: per axis, the 1st to 99th percentile of the Gaussians'
 * centres. A trained splat has floaters (Gaussians that drifted where few views constrain them) far beyond
 * the scene; a view fitted to all of them shows the scene as a speck. */
export function coreBox(mesh: SplatMesh): THREE.Box3 {
  const n = mesh.packedSplats?.numSplats ?? 0
  if (n < 50) return worldBox(mesh)
  const axes = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
  mesh.forEachSplat((i, c) => { axes[0][i] = c.x; axes[1][i] = c.y; axes[2][i] = c.z })
  const lo = new THREE.Vector3()
  const hi = new THREE.Vector3()
  axes.forEach((values, k) => {
    values.sort()
    lo.setComponent(k, values[Math.floor(0.01 * (n - 1))])
    hi.setComponent(k, values[Math.ceil(0.99 * (n - 1))])
  })
  mesh.updateMatrixWorld(true)
  return new THREE.Box3(lo, hi).applyMatrix4(mesh.matrixWorld)
}

function worldBox(mesh: SplatMesh): THREE.Box3 {
  mesh.updateMatrixWorld(true)
  return mesh.getBoundingBox(true).clone().applyMatrix4(mesh.matrixWorld)
}
