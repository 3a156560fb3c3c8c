// The BIM viewer: an IFC model converted on the server (pipeline/bim.py) — its geometry (GLB, one node
// per element named by GlobalId), its spatial tree, and the property sets of whatever is selected.
//
//   #/bim/<project>/<file>                          the file's assets, fetched with the signed-in credential
//   #/bim?model=<url>&tree=<url>&properties=<url>   signed URLs (a share link), loaded without credentials
//
// Large models stay usable: elements are drawn through one BatchedMesh per material (a handful of
// draw calls for thousands of elements), the tree renders a node's children only when it is opened,
// the properties load after the model is on screen, and the scene is drawn only when something changed.
import * as THREE from 'three'
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js'
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js'
import { api, bearer, bytes } from '../api'
import { h } from '../dom'
import type { View } from '../main'

type TreeNode = { id: string; type: string; name: string; children?: TreeNode[] }
type Tree = { version: number; schema: string; root: TreeNode; unplaced: TreeNode[] }
type Props = { type: string; attributes: Record<string, unknown>; psets: Record<string, Record<string, unknown>>;
  object_type?: { type: string; name: string }; material?: string }
export type BimSources = { model: string; tree: string; properties: string; auth: boolean }

const OPEN_ALL_BELOW = 400 // elements: a model this small opens every storey at once

async function fetchOk(url: string, auth: boolean): Promise<Response> {
  const res = await fetch(url, { headers: auth ? bearer() : {} })
  if (!res.ok) throw new Error(`${url.split('?')[0].split('/').pop()}: ${res.status} ${res.statusText}`)
  return res
}

function label(n: TreeNode): string {
  const type = n.type.replace(/^Ifc/, '')
  return n.name ? `${n.name} · ${type}` : type
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  if (Array.isArray(value)) return value.map(show).join(', ')
  return String(value)
}

export async function bimView(project: string | null, file: string | null, q: URLSearchParams): Promise<View> {
  let sources: BimSources
  let title = file ?? 'BIM model'
  let facts = ''
  if (project && file) {
    const p = await api(`/api/v1/projects/${encodeURIComponent(project)}`)
    if (p.status < 100) throw new Error(`project ${project} is still processing (${p.status}%)`)
    const f = (p.files ?? []).find((x: any) => x.name === file)
    if (!f) throw new Error(`no file ${file} in project ${project}`)
    if (f.error) throw new Error(`${file} could not be converted: ${f.message || f.error}`)
    const a = f.assets ?? {}
    if (!a.bim_model) throw new Error(`${file} has no BIM model (only IFC files get one)`)
    const path = (u: string) => new URL(u).pathname
    sources = { model: path(a.bim_model), tree: path(a.bim_tree), properties: path(a.bim_properties), auth: true }
    const d = f.details ?? {}
    facts = [d.schema, d.project && `project ${d.project}`, d.element_count != null && `${d.element_count} elements`,
      d.storeys && `${d.storeys.length} storeys`, d.units?.length && `units ${d.units.length.toLowerCase()}`, bytes(f.size)]
      .filter(Boolean).join(' · ')
  } else {
    const [model, tree, properties] = ['model', 'tree', 'properties'].map((k) => q.get(k))
    if (!model || !tree || !properties) throw new Error('no model given')
    sources = { model, tree, properties, auth: false }
    title = q.get('title') || title
  }
  return bimViewer(title, facts, sources)
}

/** The viewer on any three URLs: the project-file route above, or a share page with signed URLs. */
export function bimViewer(title: string, facts: string, src: BimSources): View {
  const status = h('p', { id: 'bim-status', 'aria-live': 'polite' }, 'Loading the model…')
  const stage = h('div', { class: 'bim-stage', id: 'bim-stage', role: 'application', tabindex: 0,
    'aria-label': `3D view of ${title}. Drag to orbit, right-drag or arrow keys to pan, wheel to zoom; click an element to select it.` })
  const tree = h('ul', { class: 'bim-tree', id: 'bim-tree', role: 'tree', 'aria-label': 'Spatial structure' })
  const props = h('div', { class: 'bim-props', id: 'bim-properties', 'aria-live': 'polite' },
    h('p', { class: 'muted' }, 'Select an element in the view or the tree to see its properties.'))
  const fit = h('button', { type: 'button', id: 'bim-fit', onclick: () => frame(selectedObjects().length ? selectedObjects() : [content]) }, 'Fit view')
  const clear = h('button', { type: 'button', id: 'bim-clear', onclick: () => select(null) }, 'Clear selection')
  const el = h('section', { class: 'bim' },
    h('div', { class: 'titlebar' }, h('h1', {}, title), h('a', { href: 'javascript:history.back()' }, 'Back')),
    facts ? h('p', { class: 'muted', id: 'bim-facts' }, facts) : null, status,
    h('div', { class: 'bim-layout' },
      h('div', { class: 'bim-main' }, stage, h('div', { class: 'actions' }, fit, clear)),
      h('aside', { class: 'bim-side' },
        h('section', { class: 'card', 'aria-labelledby': 'bim-h-tree' }, h('h2', { id: 'bim-h-tree' }, 'Model tree'), tree),
        h('section', { class: 'card', 'aria-labelledby': 'bim-h-props' }, h('h2', { id: 'bim-h-props' }, 'Properties'), props))))

  // --- three.js scene, drawn on demand ---
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true })
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2))
  renderer.setClearColor(0xe9edf2)
  const scene = new THREE.Scene()
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8d8d8d, 2.2))
  const sun = new THREE.DirectionalLight(0xffffff, 1.6)
  sun.position.set(1, 2, 1.5)
  scene.add(sun)
  const camera = new THREE.PerspectiveCamera(50, 1, 0.05, 10000)
  const controls = new OrbitControls(camera, renderer.domElement)
  controls.listenToKeyEvents(stage) // arrow keys pan while the view has focus
  const content = new THREE.Group()
  scene.add(content)
  const highlight = new THREE.MeshStandardMaterial({ color: 0xff7a00, emissive: 0x7a2e00, roughness: 0.6 })
  const overlay = new THREE.Group() // the selected elements, drawn in the highlight material
  scene.add(overlay)
  // An element: its node in the loaded glTF (kept out of the scene, for bounds and highlight geometry)
  // and its instances in the batches that draw it.
  const byId = new Map<string, THREE.Object3D>()
  const instances = new Map<string, [THREE.BatchedMesh, number][]>()
  const batches: THREE.BatchedMesh[] = []
  const treeItems = new Map<string, HTMLElement>()
  const parentOf = new Map<string, string>()
  const nodes = new Map<string, TreeNode>()
  let selected: string | null = null
  let properties: Promise<Record<string, Props>> | null = null
  let pending = false
  let alive = true

  const draw = () => {
    if (pending || !alive) return
    pending = true
    requestAnimationFrame(() => { pending = false; renderer.render(scene, camera) })
  }
  controls.addEventListener('change', draw)
  const resize = () => {
    const w = stage.clientWidth || 800
    const hgt = stage.clientHeight || 500
    renderer.setSize(w, hgt, false)
    camera.aspect = w / hgt
    camera.updateProjectionMatrix()
    draw()
  }
  const observer = new ResizeObserver(resize)

  function frame(objects: THREE.Object3D[]): void {
    const box = new THREE.Box3()
    objects.forEach((o) => box.expandByObject(o))
    if (box.isEmpty()) return
    const size = box.getSize(new THREE.Vector3()).length() || 1
    const centre = box.getCenter(new THREE.Vector3())
    controls.target.copy(centre)
    camera.near = size / 1000
    camera.far = size * 100
    camera.position.copy(centre).add(new THREE.Vector3(0.9, 0.7, 1.1).normalize().multiplyScalar(size * 1.45))
    camera.updateProjectionMatrix()
    controls.update()
    draw()
  }

  // --- selection: highlight in 3D, mark in the tree, show the properties ---
  function descendants(id: string): string[] {
    const out: string[] = []
    const stack = [id]
    while (stack.length) {
      const n = stack.pop()!
      if (byId.has(n)) out.push(n)
      nodes.get(n)?.children?.forEach((c) => stack.push(c.id))
    }
    return out
  }
  function selectedObjects(): THREE.Object3D[] {
    return selected ? descendants(selected).map((i) => byId.get(i)!) : []
  }
  function paint(ids: string[], on: boolean): void {
    if (!on) overlay.clear()
    for (const id of ids) {
      for (const [batch, i] of instances.get(id) ?? []) batch.setVisibleAt(i, !on)
      if (!on) continue
      byId.get(id)?.traverse((o) => {
        const m = o as THREE.Mesh
        if (!m.isMesh) return
        const copy = new THREE.Mesh(m.geometry, highlight)
        copy.matrixAutoUpdate = false
        copy.matrix.copy(m.matrixWorld)
        copy.userData.element = id
        overlay.add(copy)
      })
    }
  }
  function reveal(id: string): void {
    const chain: string[] = []
    for (let p = parentOf.get(id); p; p = parentOf.get(p)) chain.unshift(p)
    for (const p of chain) {
      const details = treeItems.get(p)?.querySelector(':scope > details') as HTMLDetailsElement | null
      if (details && !details.open) { details.open = true; fill(details) }
    }
  }
  async function select(id: string | null): Promise<void> {
    if (selected) {
      paint(descendants(selected), false)
      treeItems.get(selected)?.setAttribute('aria-selected', 'false')
    }
    selected = id
    stage.dataset.selected = id ?? ''
    if (!id) {
      props.replaceChildren(h('p', { class: 'muted' }, 'Select an element in the view or the tree to see its properties.'))
      draw()
      return
    }
    paint(descendants(id), true)
    draw()
    reveal(id)
    const item = treeItems.get(id)
    item?.setAttribute('aria-selected', 'true')
    item?.querySelector(':scope > .bim-node, :scope > details > summary')?.scrollIntoView({ block: 'nearest' })
    props.replaceChildren(h('p', { class: 'muted' }, 'Loading properties…'))
    let all: Record<string, Props>
    try {
      all = await (properties ??= loadProperties())
    } catch (err) {
      props.replaceChildren(h('p', { class: 'error' }, `Properties could not be loaded: ${(err as Error).message}`))
      return
    }
    if (selected !== id) return
    props.replaceChildren(...propertyTables(id, all[id], nodes.get(id)))
  }
  function propertyTables(id: string, p: Props | undefined, n: TreeNode | undefined): HTMLElement[] {
    const rows = (entries: [string, unknown][]) => entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, show(v))))
    const head: [string, unknown][] = [['Class', p?.type ?? n?.type], ['GlobalId', id]]
    if (p?.object_type) head.push(['Type', `${p.object_type.name} (${p.object_type.type})`])
    if (p?.material) head.push(['Material', p.material])
    const out = [
      h('h3', { id: 'bim-selected-name' }, n?.name || p?.attributes?.Name as string || id),
      h('table', { class: 'bim-table', 'aria-label': 'Attributes' }, h('tbody', {}, rows([...head, ...Object.entries(p?.attributes ?? {})]))),
    ]
    for (const [name, values] of Object.entries(p?.psets ?? {})) {
      out.push(h('table', { class: 'bim-table', 'data-pset': name },
        h('caption', {}, name), h('tbody', {}, rows(Object.entries(values)))))
    }
    if (!p) out.push(h('p', { class: 'muted' }, 'No properties recorded for this element.'))
    return out
  }
  async function loadProperties(): Promise<Record<string, Props>> {
    return (await fetchOk(src.properties, src.auth)).json()
  }

  // --- the tree: children built when a node is first opened ---
  function item(n: TreeNode, parent: string | null): HTMLElement {
    nodes.set(n.id, n)
    if (parent) parentOf.set(n.id, parent)
    const li = h('li', { role: 'treeitem', 'data-id': n.id, 'data-type': n.type, 'aria-selected': 'false' })
    const pick = (e: Event) => { e.preventDefault(); void select(n.id) }
    const drawn = byId.has(n.id)
    if (n.children?.length) {
      n.children.forEach((c) => { nodes.set(c.id, c); parentOf.set(c.id, n.id) })
      const details = h('details', { ontoggle: (e: Event) => fill(e.currentTarget as HTMLDetailsElement) },
        h('summary', {}, h('button', { type: 'button', class: 'bim-node', onclick: pick }, label(n)),
          h('span', { class: 'muted' }, ` ${n.children.length}`)))
      li.append(details)
      li.setAttribute('aria-expanded', 'false')
    } else {
      li.append(h('button', { type: 'button', class: `bim-node${drawn ? '' : ' nogeom'}`, onclick: pick,
        title: drawn ? undefined : 'no geometry' }, label(n)))
    }
    treeItems.set(n.id, li)
    return li
  }
  function fill(details: HTMLDetailsElement): void {
    const li = details.parentElement!
    li.setAttribute('aria-expanded', String(details.open))
    if (!details.open || details.querySelector(':scope > ul')) return
    const n = nodes.get(li.dataset.id!)!
    details.append(h('ul', { role: 'group' }, ...(n.children ?? []).map((c) => item(c, n.id))))
  }
  function openTo(li: HTMLElement, depth: number, all: boolean): void {
    const details = li.querySelector(':scope > details') as HTMLDetailsElement | null
    const n = nodes.get(li.dataset.id!)!
    if (!details || (n.type === 'IfcBuildingStorey' && !all) || depth > 12) return
    details.open = true
    fill(details)
    details.querySelectorAll(':scope > ul > li').forEach((c) => openTo(c as HTMLElement, depth + 1, all))
  }

  // --- picking ---
  const ray = new THREE.Raycaster()
  let down: { x: number; y: number } | null = null
  renderer.domElement.addEventListener('pointerdown', (e) => { down = { x: e.clientX, y: e.clientY } })
  renderer.domElement.addEventListener('pointerup', (e) => {
    if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) return // a drag, not a click
    const r = renderer.domElement.getBoundingClientRect()
    ray.setFromCamera(new THREE.Vector2(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1), camera)
    const hit = ray.intersectObjects([content, overlay], true)[0]
    const element: string | null = !hit ? null
      : hit.batchId !== undefined ? hit.object.userData.elements?.[hit.batchId] ?? null
        : hit.object.userData.element ?? null
    void select(element)
  })

  /** Every mesh of the glTF into one BatchedMesh per material; a geometry shared by several elements
   *  is stored once per batch. */
  function batch(root: THREE.Object3D): void {
    type Part = { mesh: THREE.Mesh; element: string }
    const byMaterial = new Map<THREE.Material, Part[]>()
    root.traverse((o) => {
      const m = o as THREE.Mesh
      if (!m.isMesh || Array.isArray(m.material)) return
      let owner: THREE.Object3D | null = m
      while (owner && !byId.has(owner.name)) owner = owner.parent
      if (!owner) return
      const g = m.geometry
      for (const name of Object.keys(g.attributes)) if (name !== 'position' && name !== 'normal') g.deleteAttribute(name)
      if (!g.getAttribute('normal')) g.computeVertexNormals()
      if (!g.index) g.setIndex([...Array(g.getAttribute('position').count).keys()])
      const parts = byMaterial.get(m.material) ?? []
      parts.push({ mesh: m, element: owner.name })
      byMaterial.set(m.material, parts)
    })
    for (const [material, parts] of byMaterial) {
      const unique = [...new Set(parts.map((p) => p.mesh.geometry))]
      const vertices = unique.reduce((n, g) => n + g.getAttribute('position').count, 0)
      const indices = unique.reduce((n, g) => n + g.index!.count, 0)
      const b = new THREE.BatchedMesh(parts.length, vertices, indices, material)
      const ids = new Map(unique.map((g) => [g, b.addGeometry(g)]))
      const elements: string[] = []
      for (const { mesh, element } of parts) {
        const i = b.addInstance(ids.get(mesh.geometry)!)
        b.setMatrixAt(i, mesh.matrixWorld)
        elements[i] = element
        const list = instances.get(element) ?? []
        list.push([b, i])
        instances.set(element, list)
      }
      b.userData.elements = elements
      batches.push(b)
      content.add(b)
    }
  }

  async function load(): Promise<void> {
    const started = performance.now()
    const [glb, t] = await Promise.all([
      fetchOk(src.model, src.auth).then((r) => r.arrayBuffer()),
      fetchOk(src.tree, src.auth).then((r) => r.json() as Promise<Tree>),
    ])
    const gltf = await new GLTFLoader().parseAsync(glb, '')
    if (!alive) return
    gltf.scene.updateMatrixWorld(true)
    gltf.scene.traverse((o) => {
      const m = o as THREE.Mesh
      if (o.name && o !== gltf.scene && !byId.has(o.name) && (m.isMesh || o.children.some((c) => (c as THREE.Mesh).isMesh))) byId.set(o.name, o)
    })
    batch(gltf.scene)
    resize()
    frame([content])
    renderer.render(scene, camera)
    const roots = [t.root, ...(t.unplaced.length ? [{ id: '(unplaced)', type: 'Unplaced', name: 'Not in any storey', children: t.unplaced }] : [])]
    tree.replaceChildren(...roots.map((n) => item(n, null)))
    const all = byId.size <= OPEN_ALL_BELOW
    tree.querySelectorAll(':scope > li').forEach((li) => openTo(li as HTMLElement, 0, all))
    status.textContent = `${byId.size} elements drawn · ${t.schema}`
    stage.dataset.loaded = 'true'
    stage.dataset.elements = String(byId.size)
    stage.dataset.firstViewMs = String(Math.round(performance.now() - started))
    properties = loadProperties() // in the background, now that the model is on screen
    properties.catch(() => { properties = null }) // retried on the next selection
  }

  const mounted = () => {
    stage.append(renderer.domElement)
    observer.observe(stage)
    load().catch((err) => {
      status.textContent = `The model could not be shown: ${(err as Error).message}`
      status.className = 'error'
      stage.dataset.loaded = 'error'
    })
  }
  const destroy = () => {
    alive = false
    observer.disconnect()
    controls.dispose()
    batches.forEach((b) => { b.dispose(); (b.material as THREE.Material).dispose() })
    byId.forEach((o) => o.traverse((m) => (m as THREE.Mesh).isMesh && (m as THREE.Mesh).geometry.dispose()))
    highlight.dispose()
    renderer.dispose()
  }
  return { el, mounted, destroy }
}
