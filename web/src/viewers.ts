// Which viewer opens which file: ONE table, read top to bottom, first match wins.
//
// A row matches a file by its `type` (the record's kind: image, video_360, point_cloud, splat,
// cad_bim…), optionally its `details.format` (e.g. `ifc`, `glb`, `e57`), and optionally a test. Its
// `viewer` names a route in VIEWER_ROUTES; `null` means "no viewer yet": the page offers the download.
//
// Contract for a viewer (to plug one in: add its route below and put its name in the rows):
//   route:  #/view/<viewer>?project=<name>&file=<filename>     (owner, signed in)
//           #/view/<viewer>?share=<token>&file=<filename>      (share link, no sign-in)
//   code:   (q: URLSearchParams) => View | Promise<View>; call sourceFrom(q) (projectsource.ts), then
//           `await src.file(q.get('file'))` for the file's record ({url, assets: {role: url}, details}),
//           `src.loadable(url)` for a URL any loader can fetch without headers (or `src.headers()` for
//           fetch()), and link back with `src.projectHref`. Never assume a signed-in user.
import type { View } from './main'
import type { FileEntry, Source } from './projectsource'
import { sourceFrom } from './projectsource'
import { panoramaView } from './views/panorama'

export type ViewerRow = {
  type: string
  format?: string | string[]
  when?: (f: FileEntry) => boolean
  viewer: string | null
  label: string // the button's text
}

export const VIEWER_TABLE: ViewerRow[] = [
  { type: 'image', when: (f) => f.details?.equirectangular === true, viewer: 'panorama', label: 'Panorama' },
  { type: 'video_360', viewer: 'video360', label: 'Play 360 video' },
  { type: 'point_cloud', when: (f) => !!f.assets?.copc, viewer: 'pointcloud', label: 'Point cloud' },
  { type: 'splat', when: (f) => !!(f.assets?.sog || f.assets?.spz), viewer: 'splat', label: 'Splat' },
  { type: 'cad_bim', format: 'ifc', when: (f) => !!f.assets?.bim_model, viewer: 'bim', label: 'BIM model' },
  { type: 'cad_bim', when: (f) => !!f.assets?.model, viewer: 'model', label: '3D model' },
]

// The viewer routes (#/view/<name>?…). Each is given the query; see the contract above.
const VIDEO_IN_MEMORY_MAX = 512 * 1024 * 1024 // the owner's video is fetched whole with the key: keep it sane

async function filePanorama(q: URLSearchParams, video: boolean): Promise<View> {
  const src = sourceFrom(q)
  const f = await src.file(q.get('file') ?? '')
  if (video && !src.shared && f.size > VIDEO_IN_MEMORY_MAX) throw new Error('This video is too large to play in the browser; download it instead.')
  const p = new URLSearchParams({ title: f.name, back: src.projectHref })
  if (src.shared) p.set('src', f.url)
  else {
    p.set('src', new URL(f.url, location.href).pathname)
    p.set('auth', '1')
  }
  if (video) p.set('video', '1')
  return panoramaView(p)
}

async function fileBim(q: URLSearchParams): Promise<View> {
  const { bimView } = await import('./views/bim') // three.js: loaded on first use
  const src = sourceFrom(q)
  const name = q.get('file') ?? ''
  if (!src.shared) return bimView(src.id, name, q)
  const f = await src.file(name) // a share link: its asset URLs work without a key
  if (!f.assets.bim_model) throw new Error(f.error ? `${name} could not be converted: ${f.message || f.error}` : `${name} has no BIM model`)
  return bimView(null, null, new URLSearchParams({ model: f.assets.bim_model, tree: f.assets.bim_tree, properties: f.assets.bim_properties, title: name }))
}

/** A splat's or mesh's web copy in the Spark / three.js viewers: the owner's with the credential, a share's as is. */
async function fileStage(q: URLSearchParams, kind: 'splat' | 'model'): Promise<View> {
  const src = sourceFrom(q)
  const name = q.get('file') ?? ''
  const f = await src.file(name)
  const role = kind === 'model' ? 'model' : f.assets.sog ? 'sog' : 'spz'
  const url = f.assets[role]
  if (!url) throw new Error(f.error ? `${name} could not be converted: ${f.message || f.error}` : `${name} has no web copy`)
  const p = new URLSearchParams({ title: name })
  if (src.shared) p.set('src', url)
  else {
    p.set('src', new URL(url, location.href).pathname)
    p.set('auth', '1')
  }
  if (kind === 'splat') {
    p.set('format', role)
    return (await import('./views/splat')).splatView(p) // Spark: loaded on first use
  }
  return (await import('./views/model')).modelView(p)
}

async function filePointCloud(q: URLSearchParams): Promise<View> {
  return (await import('./views/pointcloud')).pointCloudView(sourceFrom(q), q.get('file') ?? '')
}

export const VIEWER_ROUTES: Record<string, (q: URLSearchParams) => View | Promise<View>> = {
  panorama: (q) => filePanorama(q, false),
  video360: (q) => filePanorama(q, true),
  bim: fileBim,
  pointcloud: filePointCloud,
  splat: (q) => fileStage(q, 'splat'),
  model: (q) => fileStage(q, 'model'),
}

export function viewerFor(f: FileEntry): ViewerRow | null {
  const format = String(f.details?.format ?? '').toLowerCase()
  for (const row of VIEWER_TABLE) {
    if (row.type !== f.type) continue
    if (row.format !== undefined && !(Array.isArray(row.format) ? row.format : [row.format]).includes(format)) continue
    if (row.when && !row.when(f)) continue
    return row
  }
  return null
}

/** The link that opens `f` in its viewer, or null when it has none (yet): the page offers the download. */
export function viewerHref(src: Source, f: FileEntry): string | null {
  const row = viewerFor(f)
  if (!row?.viewer || !(row.viewer in VIEWER_ROUTES)) return null
  return `#/view/${row.viewer}?${src.query}&file=${encodeURIComponent(f.name)}`
}
