// Where a project page or a viewer gets its project from: the signed-in owner's API, or a share link.
//
// Every viewer route takes one of two query forms (see viewers.ts):
//   #/view/<viewer>?project=<name>&file=<filename>   the owner, signed in (Bearer credential)
//   #/view/<viewer>?share=<token>&file=<filename>    anyone holding a share link, no sign-in
// sourceFrom(q) turns either into a Source; a viewer calls `src.file(name)` for the file's record
// (url, assets, details) and `src.loadable(url)` for a URL a loader or <img> can fetch as-is.
import { ApiError, api, bearer, blobUrl, download } from './api'

export type FileEntry = {
  name: string
  size: number
  type: string
  mime?: string
  details?: Record<string, any>
  url: string
  assets: Record<string, string>
  origin?: string
  error?: string
  message?: string
}

export type Record_ = {
  name?: string
  title?: string
  status: number
  state?: string
  error?: string
  message?: string
  files?: FileEntry[]
  failed_files?: string[]
  tour?: { nodes: number; ordered_by: string; gps: boolean; url: string }
  share?: { file: string | null; expires_at: string | null }
}

export type Source = {
  shared: boolean
  id: string // the project's name, or the share token
  query: string // `project=…` or `share=…`, for viewer links
  record(): Promise<Record_>
  tour(): Promise<any>
  file(name: string): Promise<FileEntry>
  /** A URL the browser can load without headers: a share link's own URL, or a blob: URL fetched with the key. */
  loadable(url: string, signal?: AbortSignal): Promise<string>
  /** Headers a fetch of one of this source's URLs needs (the owner's credential; none for a share). */
  headers(): Record<string, string>
  download(url: string, filename: string): Promise<void>
  projectHref: string
  tourHref: string
}

async function publicJson(path: string): Promise<any> {
  // No credential on purpose: a share link works the same signed in or not.
  const res = await fetch(path, { credentials: 'omit' })
  const body = await res.json().catch(() => null)
  if (!res.ok) {
    const gone = res.status === 404 && body?.error === 'share_not_found'
    throw new ApiError(res.status, gone ? 'This share link does not exist, was revoked or has expired.' : body?.error ?? `${res.status}`, body)
  }
  return body
}

function fileIn(record: Record_, name: string): FileEntry {
  const f = record.files?.find((x) => x.name === name)
  if (!f) throw new Error(record.status < 100 ? 'The project is still processing.' : `No file ${name} here.`)
  return f
}

export function ownerSource(name: string): Source {
  const base = `/api/v1/projects/${encodeURIComponent(name)}`
  const src: Source = {
    shared: false,
    id: name,
    query: `project=${encodeURIComponent(name)}`,
    record: () => api(base),
    tour: () => api(`${base}/tour`),
    file: async (n) => fileIn(await src.record(), n),
    loadable: (url, signal) => blobUrl(new URL(url, location.href).pathname, signal),
    headers: () => bearer(),
    download: (url, filename) => download(new URL(url, location.href).pathname, filename),
    projectHref: `#/project/${encodeURIComponent(name)}`,
    tourHref: `#/tour/${encodeURIComponent(name)}`,
  }
  return src
}

export function shareSource(token: string): Source {
  const base = `/api/v1/share/${encodeURIComponent(token)}`
  const src: Source = {
    shared: true,
    id: token,
    query: `share=${encodeURIComponent(token)}`,
    record: () => publicJson(base),
    tour: () => publicJson(`${base}/tour`),
    file: async (n) => fileIn(await src.record(), n),
    loadable: async (url) => url,
    headers: () => ({}),
    download: async (url, filename) => {
      const a = Object.assign(document.createElement('a'), { href: url, download: filename })
      document.body.append(a)
      a.click()
      a.remove()
    },
    projectHref: `#/share/${encodeURIComponent(token)}`,
    tourHref: `#/share/${encodeURIComponent(token)}/tour`,
  }
  return src
}

export function sourceFrom(q: URLSearchParams): Source {
  const share = q.get('share')
  if (share) return shareSource(share)
  const project = q.get('project')
  if (project) return ownerSource(project)
  throw new Error('no project given (project=… or share=…)')
}
