// Hash routes, so the server's SPA fallback is only needed for deep links: #/, #/upload, #/project/<name>…
import './style.css'
import { credential, signOut } from './api'
import { h } from './dom'
import { signInView } from './views/signin'
import { dashboardView } from './views/dashboard'
import { uploadView } from './views/upload'
import { projectView, sharedProjectView } from './views/project'
import { sharedTourView, tourView } from './views/tour'
import { ownerSource } from './projectsource'
import { VIEWER_ROUTES } from './viewers'
import { vehicleView } from './views/vehicle'
import { panoramaView } from './views/panorama'
import { walkthroughView } from './views/walkthrough'
import { walkthroughsView } from './views/walkthroughs'
import { framesView } from './views/frames'
import { captureView } from './views/capture'
import { captureDetailView } from './views/captureDetail'
import { videoGroupView } from './views/videos'

export type View = { el: HTMLElement; mounted?: () => void; destroy?: () => void }
type Route = (params: string[], query: URLSearchParams) => View | Promise<View>

const routes: [RegExp, Route][] = [
  [/^\/signin$/, () => signInView()],
  [/^\/$/, () => dashboardView()],
  [/^\/upload$/, (_, q) => uploadView(q)],
  [/^\/project\/([^/]+)$/, ([name]) => projectView(name)],
  [/^\/tour\/([^/]+)$/, ([name]) => tourView(name)],
  [/^\/share\/([^/]+)$/, ([token]) => sharedProjectView(token)],
  [/^\/share\/([^/]+)\/tour$/, ([token]) => sharedTourView(token)],
  [/^\/view\/([^/]+)$/, ([viewer], q) => {
    const route = VIEWER_ROUTES[viewer]
    if (!route) throw new Error(`No viewer "${viewer}"`)
    return route(q)
  }],
  [/^\/vehicle\/([^/]+)$/, ([uuid]) => vehicleView(uuid)],
  [/^\/panorama$/, (_, q) => panoramaView(q)],
  [/^\/walkthrough\/([^/]+)$/, ([id], q) => walkthroughView(id, q)],
  [/^\/walkthroughs$/, (_, q) => walkthroughsView(q)],
  [/^\/frames$/, (_, q) => framesView(q)],
  [/^\/captures\/([^/]+)$/, ([eid]) => captureDetailView(eid)],
  [/^\/videos\/([^/]+)$/, ([id]) => videoGroupView(id)],
  // The BIM viewer (three.js + GLTFLoader) loads on first use.
  [/^\/bim\/([^/]+)\/(.+)$/, async ([project, file], q) => (await import('./views/bim')).bimView(project, file, q)],
  [/^\/bim$/, async (_, q) => (await import('./views/bim')).bimView(null, null, q)],
  // The 3D viewers load on demand: Spark and three.js's loaders stay out of the first page load.
  [/^\/splat$/, async (_, q) => (await import('./views/splat')).splatView(q)],
  [/^\/model$/, async (_, q) => (await import('./views/model')).modelView(q)],
  // three.js and the COPC reader load only when a point cloud is opened.
  [/^\/pointcloud\/([^/]+)\/(.+)$/, async ([project, file]) => (await import('./views/pointcloud')).pointCloudView(ownerSource(project), file)],
  [/^\/capture\/([^/]+)$/, ([sid]) => captureView(sid)],
]
let current: View | null = null

/** Pages a share link opens: they need no sign-in and use no credential (a shared capture reads only
 * public metadata). */
function isPublic(path: string, query: URLSearchParams): boolean {
  return path.startsWith('/share/') || /^\/capture\/[^/]+$/.test(path) || (path.startsWith('/view/') && query.has('share')) || (path === '/panorama' && !query.has('auth'))
}

function nav(): void {
  const el = document.getElementById('nav')!
  const c = credential()
  el.replaceChildren(
    ...(c
      ? [
          h('a', { href: '#/' }, 'Library'),
          h('a', { href: '#/upload' }, 'Upload'),
          h('span', { class: 'who', title: c.kind === 'key' ? 'API key' : 'signed in user' }, c.label),
          h('button', { type: 'button', class: 'link', onclick: () => { signOut(); location.hash = '#/signin' } }, 'Sign out'),
        ]
      : [h('a', { href: '#/signin' }, 'Sign in')]),
  )
}

async function render(): Promise<void> {
  const [rawPath, rawQuery = ''] = (location.hash.slice(1) || '/').split('?')
  const path = rawPath || '/'
  if (!credential() && path !== '/signin' && !isPublic(path, new URLSearchParams(rawQuery))) {
    location.replace('#/signin')
    return
  }
  current?.destroy?.()
  current = null
  nav()
  const main = document.getElementById('main')!
  for (const [re, route] of routes) {
    const m = re.exec(path)
    if (!m) continue
    const params = m.slice(1).map(decodeURIComponent)
    try {
      current = await route(params, new URLSearchParams(rawQuery))
      main.replaceChildren(current.el)
      current.mounted?.()
    } catch (err) {
      main.replaceChildren(h('p', { class: 'error', role: 'alert' }, String((err as Error).message ?? err)))
    }
    return
  }
  main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the library')))
}

window.addEventListener('hashchange', render)
void render()
