// The owner's share links for a project: make one (whole project, or one file, optional expiry),
// copy it, revoke it. A link opens the read-only shared page (#/share/<token>) without sign-in.
import { ApiError, api } from './api'
import { announce, h } from './dom'

export type Share = {
  token: string
  file: string | null
  url: string
  app_url: string
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  active: boolean
}

const EXPIRIES: [string, number | null][] = [
  ['never expires', null],
  ['expires in 1 hour', 3600],
  ['expires in 1 day', 86400],
  ['expires in 7 days', 7 * 86400],
  ['expires in 30 days', 30 * 86400],
]

function when(iso: string): string {
  return new Date(iso + (/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? '' : 'Z')).toLocaleString()
}

export async function copyText(text: string, field?: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // Not a secure context (plain http on a LAN address): select it and use the old command.
    if (!field) return false
    field.select()
    return document.execCommand('copy')
  }
}

export function createShare(project: string, file: string | null, expires: number | null): Promise<Share> {
  return api<Share>(`/api/v1/projects/${encodeURIComponent(project)}/shares`, {
    method: 'POST',
    json: { ...(file ? { file } : {}), ...(expires ? { expires_in_seconds: expires } : {}) },
  })
}

/** The "Sharing" panel of a project page; `refresh()` reloads its list (after a file link was made). */
export function sharePanel(project: string): { el: HTMLElement; refresh: () => Promise<void> } {
  const list = h('ul', { class: 'shares', id: 'share-list', 'aria-label': 'Share links' })
  const status = h('p', { class: 'muted', id: 'share-status', 'aria-live': 'polite' })
  const expiry = h('select', { id: 'share-expiry', 'aria-label': 'Expiry of the new link' },
    ...EXPIRIES.map(([label, secs], i) => h('option', { value: String(i), selected: secs === null }, label)))

  function row(s: Share): HTMLElement {
    const field = h('input', { type: 'text', readOnly: true, value: s.app_url, class: 'share-url', 'aria-label': `Share link ${s.file ? `for ${s.file}` : 'for the project'}` })
    const state = s.revoked_at ? `revoked ${when(s.revoked_at)}` : !s.active ? `expired ${s.expires_at ? when(s.expires_at) : ''}`
      : s.expires_at ? `expires ${when(s.expires_at)}` : 'no expiry'
    return h('li', { class: `share ${s.active ? 'active' : 'inactive'}`, 'data-token': s.token },
      h('div', { class: 'share-what' }, h('strong', {}, s.file ? `File ${s.file}` : 'Whole project'), h('span', { class: 'muted' }, ` · ${state}`)),
      s.active ? field : null,
      s.active ? h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: async () => announce((await copyText(s.app_url, field)) ? 'Link copied' : 'Select the link and copy it') }, 'Copy'),
        h('a', { class: 'button', href: s.app_url, target: '_blank', rel: 'noopener' }, 'Open'),
        h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm('Revoke this link? Whoever has it will no longer see the project.')) return
          await api(`/api/v1/projects/${encodeURIComponent(project)}/shares/${encodeURIComponent(s.token)}`, { method: 'DELETE' })
          announce('Link revoked')
          await refresh()
        } }, 'Revoke')) : null)
  }

  async function refresh(): Promise<void> {
    try {
      const { shares } = await api<{ shares: Share[] }>(`/api/v1/projects/${encodeURIComponent(project)}/shares`)
      list.replaceChildren(...shares.map(row))
      const live = shares.filter((s) => s.active).length
      status.textContent = live ? `${live} active link${live === 1 ? '' : 's'}: anyone with one can view, not change.` : 'Private: no active share link.'
    } catch (err) {
      status.textContent = err instanceof ApiError && err.unauthorised ? 'Sharing needs a key with projects:write.' : String((err as Error).message)
    }
  }

  const create = h('button', { type: 'button', id: 'share-create', onclick: async () => {
    create.disabled = true
    try {
      const s = await createShare(project, null, EXPIRIES[Number(expiry.value)][1])
      await refresh()
      announce((await copyText(s.app_url)) ? 'Share link created and copied' : 'Share link created')
    } catch (err) {
      status.textContent = String((err as Error).message)
    } finally {
      create.disabled = false
    }
  } }, 'Create share link')

  const el = h('section', { class: 'sharing', 'aria-labelledby': 'sharing-title' },
    h('h2', { id: 'sharing-title' }, 'Sharing'),
    h('div', { class: 'actions' }, create, expiry), status, list)
  void refresh()
  return { el, refresh }
}
