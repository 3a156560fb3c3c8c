// Hash routes, so the server's SPA fallback is only needed for deep links: #/, #/upload, #/project/<name>…
import './style.css'
import { credential, signOut } from './api'
import { h } from './dom'
import { signInView } from './views/signin'
import { dashboardView } from './views/dashboard'
import { uploadView } from './views/upload'
import { projectView } from './views/project'
import { vehicleView } from './views/vehicle'
import { panoramaView } from './views/panorama'
import { walkthroughView } from './views/walkthrough'

export type View = { el: HTMLElement; mounted?: () => void; destroy?: () => void }
type Route = (params: string[], query: URLSearchParams) => View | Promise<View>

const routes: [RegExp, Route][] = [
  [/^\/signin$/, () => signInView()],
  [/^\/$/, () => dashboardView()],
  [/^\/upload$/, (_, q) => uploadView(q)],
  [/^\/project\/([^/]+)$/, ([name]) => projectView(name)],
  [/^\/vehicle\/([^/]+)$/, ([uuid]) => vehicleView(uuid)],
  [/^\/panorama$/, (_, q) => panoramaView(q)],
  [/^\/walkthrough\/([^/]+)$/, ([id], q) => walkthroughView(id, q)],
  // The BIM viewer (three.js + GLTFLoader) loads on first use.
  [/^\/bim\/([^/]+)\/(.+)$/, async ([project, file], q) => (await import('./views/bim')).bimView(project, file, q)],
  [/^\/bim$/, async (_, q) => (await import('./views/bim')).bimView(null, null, q)],
  // The 3D viewers load on demand: Spark and three.js's loaders stay out of the first page load.
  [/^\/splat$/, async (_, q) => (await import('./views/splat')).splatView(q)],
  [/^\/model$/, async (_, q) => (await import('./views/model')).modelView(q)],
]

let current: View | null = null

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
  if (!credential() && path !== '/signin') {
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
