// Talking to omnidrop from the browser: the signed-in credential and one fetch helper per API shape.
//
// An API key (`sk_…`) works on every surface the key's scopes allow. A username/password sign-in
// gives a login token (`lt_…`), which every surface accepts like a key with the user's scopes, so one
// sign-in lists, uploads and creates projects. Where a key lacks a scope, the surface answers 401/403
// and the app says so in that list instead of pretending it is empty.

export type Credential = { kind: 'key' | 'token'; secret: string; label: string; expiresAt?: string }

const STORE = 'omnidrop.credential'

export function credential(): Credential | null {
  const raw = localStorage.getItem(STORE)
  if (!raw) return null
  try {
    const c = JSON.parse(raw) as Credential
    if (c.expiresAt && Date.parse(c.expiresAt + (c.expiresAt.endsWith('Z') ? '' : 'Z')) < Date.now()) {
      localStorage.removeItem(STORE)
      return null
    }
    return c
  } catch {
    return null
  }
}

export function signIn(c: Credential): void {
  localStorage.setItem(STORE, JSON.stringify(c))
}

export function signOut(): void {
  localStorage.removeItem(STORE)
}

export function bearer(): Record<string, string> {
  const c = credential()
  return c ? { Authorization: `Bearer ${c.secret}` } : {}
}

/** A refusal, with the HTTP status and whatever message the API's own error shape carried. */
export class ApiError extends Error {
  constructor(public status: number, message: string, public body: unknown = null) {
    super(message)
  }
  get unauthorised(): boolean {
    return this.status === 401 || this.status === 403
  }
}

function messageOf(body: any, fallback: string): string {
  if (!body || typeof body !== 'object') return fallback
  const e = body.error
  if (typeof e === 'string') return body.message ? `${e}: ${body.message}` : e
  if (e && typeof e === 'object') return [e.code, e.message].filter(Boolean).join(': ') || fallback
  if (typeof body.detail === 'string') return body.detail
  return fallback
}

export async function api<T = any>(path: string, init: RequestInit & { json?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
  const headers: Record<string, string> = { ...bearer(), ...(init.headers ?? {}) }
  let body = init.body
  if (init.json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(init.json)
  }
  const res = await fetch(path, { ...init, headers, body })
  const text = await res.text()
  let parsed: any = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = text
  }
  if (!res.ok) throw new ApiError(res.status, messageOf(parsed, `${res.status} ${res.statusText}`), parsed)
  return parsed as T
}

/** The Direct Video API takes its key in its own header. */
export function videoApi<T = any>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const c = credential()
  return api<T>(path, { ...init, headers: { Authorization: '', 'X-SPATIALGEN-APPKEY': c?.secret ?? '' } })
}

/** An authenticated blob (thumbnail, drawing image) as an object URL for <img>; revoke when done. */
export async function blobUrl(path: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(path, { headers: bearer(), signal })
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`)
  return URL.createObjectURL(await res.blob())
}

/** Save an authenticated download. Streams to disk where the browser lets us pick a file, so memory stays flat. */
export async function download(path: string, filename: string): Promise<void> {
  const picker = (window as any).showSaveFilePicker
  if (picker) {
    let handle
    try {
      handle = await picker({ suggestedName: filename })
    } catch {
      return // the user closed the dialog
    }
    const res = await fetch(path, { headers: bearer() })
    if (!res.ok || !res.body) throw new ApiError(res.status, `${res.status} ${res.statusText}`)
    await res.body.pipeTo(await handle.createWritable())
    return
  }
  const url = await blobUrl(path)
  const a = Object.assign(document.createElement('a'), { href: url, download: filename })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

export function bytes(n: number | null | undefined): string {
  if (n == null) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`
}
