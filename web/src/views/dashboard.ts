// The owner's library: projects, vehicles, walkthroughs, captures and video groups, polled for live status.
import { ApiError, api, bytes, videoApi } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'

const EVERY_MS = 5000 // five lists; GET /projects/{name} is 60/minute per key, so the project page polls alone

type Section = { id: string; title: string; load: () => Promise<HTMLElement[]> }

function status(text: string, kind: 'ok' | 'busy' | 'bad' | 'idle' = 'idle'): HTMLElement {
  return h('span', { class: `status ${kind}` }, text)
}

function stateKind(state: string): 'ok' | 'busy' | 'bad' | 'idle' {
  const s = state.toLowerCase()
  if (['ready', 'done', 'finished', 'completed', 'processed'].includes(s)) return 'ok'
  if (['failed', 'error', 'cancelled', 'expired'].includes(s)) return 'bad'
  if (['created', 'uploading'].includes(s)) return 'idle'
  return 'busy'
}

const sections: Section[] = [
  {
    id: 'projects', title: 'Projects',
    load: async () => (await api('/api/v1/projects')).projects.map((p: any) =>
      h('li', { class: 'row', 'data-name': p.name },
        h('a', { href: `#/project/${encodeURIComponent(p.name)}` }, p.title || p.name),
        p.state === 'failed' ? status(`failed: ${p.error}`, 'bad')
          : p.status >= 100 ? status('ready', 'ok') : status(`processing ${p.status}%`, 'busy'),
        h('progress', { max: 100, value: p.status, 'aria-label': `${p.title || p.name} progress` }))),
  },
  {
    id: 'vehicles', title: 'Vehicles',
    load: async () => {
      const { vehicles } = await api('/360/vehicles')
      return Promise.all(vehicles.slice(0, 50).map(async (v: any) => {
        const d = await api(`/360/vehicles/${v.uuid}`)
        const videos = Object.values(d.sides).flat() as any[]
        return h('li', { class: 'row', 'data-uuid': v.uuid },
          h('a', { href: `#/vehicle/${v.uuid}` }, v.name || v.uuid),
          videos.length ? videos.map((x) => status(`${x.side} ${x.state}${x.frames_total ? ` · ${x.frames_total} frames` : ''}`, stateKind(x.state)))
            : status('no video yet'))
      }))
    },
  },
  {
    id: 'walkthroughs', title: 'Walkthroughs',
    load: async () => {
      const { projects } = await api('/360/projects')
      const rows: HTMLElement[] = []
      for (const p of projects) {
        const { uploads } = await api(`/360/projects/${encodeURIComponent(p.id)}/uploads`)
        for (const u of uploads) {
          rows.push(h('li', { class: 'row', 'data-upload': u.id },
            h('a', { href: `#/walkthrough/${u.id}` }, `${p.name || p.id} · ${u.name}`),
            h('span', { class: 'muted' }, u.date),
            status(u.processing_status, stateKind(u.processing_status))))
        }
        if (!uploads.length) rows.push(h('li', { class: 'row muted' }, `${p.name || p.id}: no walkthrough uploads yet`))
      }
      return rows
    },
  },
  {
    id: 'captures', title: 'Captures',
    load: async () => (await api('/api/v1/captures?limit=100')).map((c: any) =>
      h('li', { class: 'row', 'data-eid': c.eid }, h('span', {}, c.name), status(c.state, stateKind(c.state)),
        c.error_reason ? h('span', { class: 'error' }, c.error_reason) : null)),
  },
  {
    id: 'videos', title: 'Video groups',
    load: async () => (await videoApi('/api/videos/uploads')).items.map((g: any) =>
      h('li', { class: 'row', 'data-group': g.uploadSessionId }, h('span', {}, g.title || g.uploadSessionId),
        h('span', { class: 'muted' }, `${g.layout} · ${g.files.length} files · ${bytes(g.files.reduce((n: number, f: any) => n + f.size, 0))}`),
        status(g.status, stateKind(g.status)))),
  },
]

export function dashboardView(): View {
  let alive = true
  const el = h('section', { class: 'dashboard' },
    h('div', { class: 'titlebar' }, h('h1', {}, 'Library'), h('a', { class: 'button', href: '#/upload' }, 'Upload files')))
  for (const s of sections) {
    const list = h('ul', { class: 'list', id: `list-${s.id}`, 'aria-live': 'polite', 'aria-busy': 'true' }, h('li', { class: 'muted' }, 'Loading…'))
    el.append(h('section', { class: 'card', 'aria-labelledby': `h-${s.id}` }, h('h2', { id: `h-${s.id}` }, s.title), list))
    poll(async () => {
      try {
        const rows = await s.load()
        list.replaceChildren(...(rows.length ? rows : [h('li', { class: 'muted empty' }, 'Nothing yet.')]))
      } catch (err) {
        const msg = err instanceof ApiError && err.unauthorised
          ? 'Not available with this sign-in (this key lacks the scope this list needs).' : `Could not load: ${(err as Error).message}`
        list.replaceChildren(h('li', { class: 'muted' }, msg))
      }
      list.setAttribute('aria-busy', 'false')
    }, EVERY_MS, () => alive)
  }
  return { el, destroy: () => { alive = false } }
}
