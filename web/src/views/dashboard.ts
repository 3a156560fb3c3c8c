// The owner's library: projects, vehicles, walkthroughs, captures and video groups, polled for live status.
//
// One search box filters every list (projects are searched by the server, `GET /api/v1/projects?q=`);
// each list pages PAGE rows at a time. A row tells look-alikes apart by date, size and file count, and
// shows a progress bar only while something is still being processed.
import { ApiError, api, bytes, videoApi } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'

const EVERY_MS = 5000 // five lists; GET /projects/{name} is 60/minute per key, so the project page polls alone
const PAGE = 20

type Page = { rows: HTMLElement[]; more: boolean }
type Section = { id: string; title: string; load: (q: string, offset: number) => Promise<Page> }

function status(text: string, kind: 'ok' | 'busy' | 'bad' | 'idle' = 'idle'): HTMLElement {
  return h('span', { class: `status ${kind}` }, text)
}

export function stateKind(state: string): 'ok' | 'busy' | 'bad' | 'idle' {
  const s = state.toLowerCase()
  if (['ready', 'done', 'finished', 'completed', 'processed', 'verified'].includes(s)) return 'ok'
  if (['failed', 'error', 'cancelled', 'expired'].includes(s)) return 'bad'
  if (['created', 'uploading'].includes(s)) return 'idle'
  return 'busy'
}

/** "3 Dec 2026, 21:40" in the reader's locale and zone; the ISO time as the tooltip. */
export function when(iso: string | null | undefined): HTMLElement | null {
  if (!iso) return null
  const d = new Date(/[Zz]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`)
  return h('time', { class: 'muted', datetime: d.toISOString(), title: d.toISOString() },
    d.toLocaleString(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }))
}

const matches = (q: string, ...texts: (string | null | undefined)[]) =>
  !q || texts.some((t) => (t ?? '').toLowerCase().includes(q.toLowerCase()))

/** Client-side paging for the lists whose API has no search. */
function slice(rows: HTMLElement[], offset: number): Page {
  return { rows: rows.slice(offset, offset + PAGE), more: rows.length > offset + PAGE }
}

const sections: Section[] = [
  {
    id: 'projects', title: 'Projects',
    load: async (q, offset) => {
      const got = (await api(`/api/v1/projects?limit=${PAGE + 1}&offset=${offset}${q ? `&q=${encodeURIComponent(q)}` : ''}`)).projects
      return {
        more: got.length > PAGE,
        rows: got.slice(0, PAGE).map((p: any) => {
          const busy = p.state !== 'failed' && p.status < 100
          return h('li', { class: 'row', 'data-name': p.name },
            h('a', { href: `#/project/${encodeURIComponent(p.name)}` }, p.title || p.name),
            p.title ? h('span', { class: 'muted mono' }, p.name) : null,
            when(p.created_at),
            busy ? null : h('span', { class: 'muted meta' }, `${p.file_count} file${p.file_count === 1 ? '' : 's'} · ${bytes(p.size)}`),
            p.state === 'failed' ? status(`failed: ${p.error}`, 'bad') : busy ? status(`processing ${p.status}%`, 'busy') : status('ready', 'ok'),
            busy ? h('progress', { max: 100, value: p.status, 'aria-label': `${p.title || p.name} progress` }) : null)
        }),
      }
    },
  },
  {
    id: 'vehicles', title: 'Vehicles',
    load: async (q, offset) => {
      const { vehicles } = await api('/360/vehicles')
      const found = vehicles.filter((v: any) => matches(q, v.name, v.uuid))
      const page = found.slice(offset, offset + PAGE)
      const rows = await Promise.all(page.map(async (v: any) => {
        const d = await api(`/360/vehicles/${v.uuid}`)
        const videos = Object.values(d.sides).flat() as any[]
        return h('li', { class: 'row', 'data-uuid': v.uuid },
          h('a', { href: `#/vehicle/${v.uuid}` }, v.name || v.uuid), when(v.created_at),
          videos.length ? h('span', { class: 'muted meta' }, `${videos.length} video${videos.length === 1 ? '' : 's'} · ${bytes(videos.reduce((n, x) => n + (x.size ?? 0), 0))}`) : null,
          videos.length ? videos.map((x) => status(`${x.side} ${x.state}${x.frames_total ? ` · ${x.frames_total} frames` : ''}`, stateKind(x.state)))
            : status('no video yet'))
      }))
      return { rows, more: found.length > offset + PAGE }
    },
  },
  {
    id: 'walkthroughs', title: 'Walkthroughs',
    load: async (q, offset) => {
      const { projects } = await api('/360/projects')
      const rows: HTMLElement[] = []
      for (const p of projects) {
        const { uploads } = await api(`/360/projects/${encodeURIComponent(p.id)}/uploads`)
        for (const u of uploads) {
          if (!matches(q, p.name, p.id, u.name)) continue
          rows.push(h('li', { class: 'row', 'data-upload': u.id },
            h('a', { href: `#/walkthrough/${u.id}` }, `${p.name || p.id} · ${u.name}`),
            h('span', { class: 'muted' }, u.date),
            status(u.processing_status, stateKind(u.processing_status))))
        }
        if (!uploads.length && matches(q, p.name, p.id)) {
          rows.push(h('li', { class: 'row muted' }, `${p.name || p.id}: no walkthrough uploads yet`,
            h('a', { href: `#/walkthroughs?project=${encodeURIComponent(p.id)}` }, 'add a drawing or an upload')))
        }
      }
      return slice(rows, offset)
    },
  },
  {
    id: 'captures', title: 'Captures',
    load: async (q, offset) => {
      // The Captures API pages but does not search: with a search, look through the newest 500.
      const got = await api(q ? '/api/v1/captures?limit=500' : `/api/v1/captures?limit=${PAGE + 1}&offset=${offset}`)
      const rows = got.filter((c: any) => matches(q, c.name, c.eid)).map((c: any) =>
        h('li', { class: 'row', 'data-eid': c.eid }, h('a', { href: `#/captures/${encodeURIComponent(c.eid)}` }, c.name), when(c.created),
          status(c.state, stateKind(c.state)),
          c.error_reason ? h('span', { class: 'error' }, c.error_reason) : null))
      return q ? slice(rows, offset) : { rows: rows.slice(0, PAGE), more: rows.length > PAGE }
    },
  },
  {
    id: 'videos', title: 'Video groups',
    load: async (q, offset) => {
      const got = (await videoApi(q ? '/api/videos/uploads?limit=1000' : `/api/videos/uploads?limit=${PAGE + 1}&offset=${offset}`)).items
      const rows = got.filter((g: any) => matches(q, g.title, g.uploadSessionId, ...g.files.map((f: any) => f.filename))).map((g: any) =>
        h('li', { class: 'row', 'data-group': g.uploadSessionId },
          h('a', { href: `#/videos/${encodeURIComponent(g.uploadSessionId)}` }, g.title || g.uploadSessionId), when(g.createdAt),
          h('span', { class: 'muted meta' }, `${g.layout} · ${g.files.length} file${g.files.length === 1 ? '' : 's'} · ${bytes(g.files.reduce((n: number, f: any) => n + f.size, 0))}`),
          status(g.status, stateKind(g.status))))
      return q ? slice(rows, offset) : { rows: rows.slice(0, PAGE), more: rows.length > PAGE }
    },
  },
]

export function dashboardView(): View {
  let alive = true
  const search = h('input', { type: 'search', id: 'library-search', placeholder: 'Search titles, names, files…', 'aria-label': 'Search the library' })
  const el = h('section', { class: 'dashboard' },
    h('div', { class: 'titlebar' }, h('h1', {}, 'Library'),
      h('div', { class: 'actions' }, search, h('a', { class: 'button', href: '#/walkthroughs' }, 'Walkthrough projects'),
        h('a', { class: 'button primary', href: '#/upload' }, 'Upload files'))))
  const reloads: (() => void)[] = []
  for (const s of sections) {
    let offset = 0
    let seq = 0
    const list = h('ul', { class: 'list', id: `list-${s.id}`, 'aria-live': 'polite', 'aria-busy': 'true' }, h('li', { class: 'muted' }, 'Loading…'))
    const prev = h('button', { type: 'button', id: `${s.id}-prev`, hidden: true }, '← Newer')
    const next = h('button', { type: 'button', id: `${s.id}-next`, hidden: true }, 'Older →')
    const where = h('span', { class: 'muted', id: `${s.id}-page` })
    const load = async () => {
      const mine = ++seq
      const q = search.value.trim()
      try {
        const page = await s.load(q, offset)
        if (mine !== seq) return // a newer search or page answered first
        list.replaceChildren(...(page.rows.length ? page.rows : [h('li', { class: 'muted empty' }, q ? `Nothing matches “${q}”.` : 'Nothing yet.')]))
        prev.hidden = offset === 0
        next.hidden = !page.more
        where.textContent = offset || page.more ? `${offset + 1}–${offset + page.rows.length}` : ''
      } catch (err) {
        if (mine !== seq) return
        const msg = err instanceof ApiError && err.unauthorised
          ? 'Not available with this sign-in (this key lacks the scope this list needs).' : `Could not load: ${(err as Error).message}`
        list.replaceChildren(h('li', { class: 'muted' }, msg))
      }
      list.setAttribute('aria-busy', 'false')
    }
    prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE); void load() })
    next.addEventListener('click', () => { offset += PAGE; void load() })
    reloads.push(() => { offset = 0; void load() })
    el.append(h('section', { class: 'card', 'aria-labelledby': `h-${s.id}` },
      h('div', { class: 'titlebar' }, h('h2', { id: `h-${s.id}` }, s.title), h('div', { class: 'pager' }, prev, where, next)), list))
    poll(load, EVERY_MS, () => alive)
  }
  let typing: ReturnType<typeof setTimeout> | undefined
  search.addEventListener('input', () => {
    clearTimeout(typing)
    typing = setTimeout(() => reloads.forEach((r) => r()), 250)
  })
  return { el, destroy: () => { alive = false; clearTimeout(typing) } }
}
