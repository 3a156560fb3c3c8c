// Walkthrough projects: make a project, add drawings (floor plans: a name, the geographic bounds the
// image covers, and the image), and see each project's drawings and walkthrough uploads. #/walkthroughs
// (?project=<id> opens that project's panel). The routes are the Walkthrough Upload API's:
// POST /360/projects, POST /360/projects/{id}/drawings, PUT /360/drawings/{id}/image.
import { ApiError, api, bearer, blobUrl } from '../api'
import { announce, h } from '../dom'
import type { View } from '../main'
import { stateKind, when } from './dashboard'

const slug = (s: string) => s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60)

function field(id: string, label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null)
}

export async function walkthroughsView(q: URLSearchParams): Promise<View> {
  const urls: string[] = []
  const list = h('div', { id: 'wt-projects' })
  const message = h('p', { id: 'wt-message', role: 'status', 'aria-live': 'polite' })
  const say = (text: string, kind = '') => { message.textContent = text; message.className = kind; announce(text) }

  // New project
  const pname = h('input', { id: 'new-project-name', required: true, placeholder: 'e.g. Harbour offices' })
  const pid = h('input', { id: 'new-project-id', placeholder: 'from the name', pattern: '[A-Za-z0-9._-]+' })
  pname.addEventListener('input', () => { pid.placeholder = slug(pname.value) || 'from the name' })
  const newProject = h('form', { class: 'card', id: 'new-project', 'aria-labelledby': 'h-new-project' },
    h('h2', { id: 'h-new-project' }, 'New walkthrough project'),
    h('div', { class: 'grid2' }, field('new-project-name', 'Name', pname), field('new-project-id', 'Id', pid, 'Letters, digits, dots, dashes; used in API paths.')),
    h('button', { type: 'submit', class: 'primary' }, 'Create project'))
  newProject.addEventListener('submit', async (e) => {
    e.preventDefault()
    const id = pid.value.trim() || slug(pname.value)
    try {
      await api('/360/projects', { method: 'POST', json: { id, name: pname.value.trim() } })
      say(`Project ${pname.value.trim()} created.`, 'ok')
      newProject.reset()
      pid.placeholder = 'from the name'
      await render(id)
    } catch (err) {
      say(`Could not create the project: ${(err as Error).message}`, 'error')
    }
  })

  function drawingForm(projectId: string, open: boolean): HTMLElement {
    const id = (s: string) => `${s}-${slug(projectId)}`
    const name = h('input', { id: id('dr-name'), required: true, placeholder: 'e.g. Level 2' })
    const num = (key: string, label: string, hint: string) => {
      const input = h('input', { id: id(`dr-${key}`), type: 'number', step: 'any', required: true, placeholder: hint, name: key })
      return [input, field(id(`dr-${key}`), label, input)] as const
    }
    const [north, fn] = num('north', 'North (latitude of the top edge)', '52.0010')
    const [south, fs] = num('south', 'South (latitude of the bottom edge)', '52.0000')
    const [west, fw] = num('west', 'West (longitude of the left edge)', '4.0000')
    const [east, fe] = num('east', 'East (longitude of the right edge)', '4.0020')
    const image = h('input', { id: id('dr-image'), type: 'file', accept: 'image/png,image/jpeg,image/webp,image/svg+xml,application/pdf' })
    const form = h('form', { class: 'drawing-form', 'data-project': projectId },
      field(id('dr-name'), 'Name', name),
      h('div', { class: 'bounds' }, fn, fs, fw, fe),
      field(id('dr-image'), 'Floor plan image', image, 'The image the bounds above cover; points are placed on it.'),
      h('button', { type: 'submit', class: 'primary' }, 'Add drawing'))
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      try {
        const d = await api(`/360/projects/${encodeURIComponent(projectId)}/drawings`, { method: 'POST', json: {
          name: name.value.trim(), bounds: { north: +north.value, south: +south.value, east: +east.value, west: +west.value } } })
        const file = image.files?.[0]
        if (file) {
          const res = await fetch(`/360/drawings/${d.id}/image`, { method: 'PUT', body: file, headers: { ...bearer(), 'Content-Type': file.type || 'application/octet-stream' } })
          if (!res.ok) throw new ApiError(res.status, `the drawing was made, but its image was refused: ${(await res.text()).slice(0, 200)}`)
        }
        say(`Drawing ${d.name} added${file ? ' with its image' : ''}.`, 'ok')
        await render(projectId)
      } catch (err) {
        say(`Could not add the drawing: ${(err as Error).message}`, 'error')
      }
    })
    return h('details', { class: 'drawing-add', open }, h('summary', {}, 'Add a drawing'), form)
  }

  async function panel(p: any, open: boolean): Promise<HTMLElement> {
    const [{ drawings }, { uploads }] = await Promise.all([
      api(`/360/projects/${encodeURIComponent(p.id)}/drawings`), api(`/360/projects/${encodeURIComponent(p.id)}/uploads`)])
    const thumbs = drawings.map((d: any) => {
      const img = h('img', { class: 'drawing-thumb', alt: `Drawing ${d.name}`, width: 160, height: 100 })
      if (d.image_url) blobUrl(d.image_url).then((u) => { urls.push(u); img.src = u }).catch(() => undefined)
      return h('li', { class: 'drawing', 'data-drawing': d.id }, d.image_url ? img : h('span', { class: 'thumb none' }, 'no image'),
        h('div', {}, h('strong', {}, d.name), h('p', { class: 'muted' }, `N ${d.bounds.north} · S ${d.bounds.south} · W ${d.bounds.west} · E ${d.bounds.east}`)))
    })
    const rows = uploads.map((u: any) => h('li', { class: 'row', 'data-upload': u.id },
      h('a', { href: `#/walkthrough/${u.id}` }, u.name), h('span', { class: 'muted' }, u.date),
      h('span', { class: `status ${stateKind(u.processing_status)}` }, u.processing_status)))
    return h('details', { class: 'card wt-project', 'data-project': p.id, open },
      h('summary', {}, h('strong', {}, p.name || p.id), ' ', h('span', { class: 'muted mono' }, p.id), ' ', when(p.inserted_at),
        h('span', { class: 'muted' }, ` · ${drawings.length} drawing${drawings.length === 1 ? '' : 's'} · ${uploads.length} upload${uploads.length === 1 ? '' : 's'}`)),
      h('h3', {}, 'Drawings'),
      drawings.length ? h('ul', { class: 'drawings' }, ...thumbs) : h('p', { class: 'muted' }, 'No drawings yet: add one to place the walk on.'),
      drawingForm(p.id, !drawings.length),
      h('h3', {}, 'Walkthrough uploads'),
      rows.length ? h('ul', { class: 'list' }, ...rows) : h('p', { class: 'muted' }, 'No uploads yet.'),
      drawings.length ? h('p', {}, h('a', { class: 'button', href: `#/upload?target=walkthrough&project=${encodeURIComponent(p.id)}` }, 'Upload a walkthrough video')) : null)
  }

  async function render(openId = q.get('project') ?? ''): Promise<void> {
    try {
      const { projects } = await api('/360/projects')
      list.replaceChildren(...(projects.length
        ? await Promise.all(projects.map((p: any) => panel(p, p.id === openId || projects.length === 1)))
        : [h('p', { class: 'muted' }, 'No walkthrough projects yet.')]))
    } catch (err) {
      list.replaceChildren(h('p', { class: 'error' }, `Could not load: ${(err as Error).message}`))
    }
  }
  await render()
  const el = h('section', { class: 'walkthroughs' },
    h('div', { class: 'titlebar' }, h('h1', {}, 'Walkthrough projects'), h('a', { href: '#/' }, 'Library')),
    message, newProject, list)
  return { el, destroy: () => urls.forEach((u) => URL.revokeObjectURL(u)) }
}
