// The uploader: one Uppy dashboard, rebuilt for the chosen target.
//
// - new project: tus for ordinary files, S3 multipart (Uppy 6's @uppy/aws-s3 in its `signRequest` mode:
//   each S3 request signed by POST /s3/sign) from a size threshold; then one File Upload API session
//   gathers them and POST /api/v1/projects.
// - vehicle + side: the Vehicles API's form upload (POST /360/upload, 100 MB cap), via @uppy/xhr-upload.
// - walkthrough upload object: tus with `walkthrough_upload_id` metadata, then PUT /360/{id}/upload.
// - capture: the Captures API's own part URLs (create-upload-url, uploaded), see ../captureUploader.ts.
//
// Resume after a reload: Golden Retriever keeps each file's tus URL / multipart id in localStorage
// (and small files' bytes in IndexedDB). A bigger file comes back as a "ghost": choose it again and
// the upload continues from the server's offset (tus HEAD, or ListParts for multipart).
import Uppy, { type UppyFile } from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import Tus from '@uppy/tus'
import AwsS3 from '@uppy/aws-s3'
import XHRUpload from '@uppy/xhr-upload'
import GoldenRetriever from '@uppy/golden-retriever'
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import { ApiError, api, bearer, bytes } from '../api'
import CaptureUploader from '../captureUploader'
import { announce, h } from '../dom'
import type { View } from '../main'

const MiB = 1024 * 1024
const SETTINGS = 'omnidrop.upload-settings'
const TITLE = 'omnidrop.project-title' // the title typed so far, kept across a reload until the project exists

type Target = 'project' | 'vehicle' | 'walkthrough' | 'capture'
type Settings = { multipartFromMiB: number; tusChunkMiB: number }

const DEFAULTS: Settings = { multipartFromMiB: 100, tusChunkMiB: 50 }

function settings(): Settings {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(SETTINGS) || '{}') }
  } catch {
    return { ...DEFAULTS }
  }
}

/** Install `plugin` so that its uploader only sees the files `take` accepts (two uploaders, one dashboard). */
function useFor(uppy: Uppy, take: (f: UppyFile<any, any>) => boolean, install: () => void): void {
  const add = uppy.addUploader.bind(uppy)
  uppy.addUploader = (fn) => add((ids: string[], uploadID: string) => fn(ids.filter((id) => take(uppy.getFile(id))), uploadID))
  try {
    install()
  } finally {
    uppy.addUploader = add
  }
}

function tusOptions(chunkMiB: number, meta: Record<string, string> = {}) {
  return {
    endpoint: '/files/',
    headers: () => bearer(),
    chunkSize: chunkMiB * MiB,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    limit: 3,
    removeFingerprintOnSuccess: true,
    allowedMetaFields: ['name', 'type', ...Object.keys(meta)],
  }
}

/** The multipart state @uppy/aws-s3 keeps on a file while it uploads (Golden Retriever persists it). */
function mpu(f: UppyFile<any, any>): { uploadId: string; key: string } | undefined {
  return (f as any).s3Multipart
}

/** Uppy 6's signRequest: one S3 request ({method, key, uploadId?, partNumber?}) in, a signed URL out. */
async function signRequest(req: Record<string, unknown>): Promise<{ url: string; key?: string; headers?: Record<string, string> }> {
  return api('/s3/sign', { method: 'POST', json: req })
}

export async function uploadView(query: URLSearchParams): Promise<View> {
  const log = h('ol', { class: 'log', id: 'upload-log', 'aria-live': 'polite', 'aria-label': 'Upload results' })
  const say = (text: string, kind = '') => {
    log.append(h('li', { class: kind }, text))
    announce(text)
  }
  let s = settings()
  const targetPick = h('select', { id: 'target', 'aria-label': 'Upload target' },
    h('option', { value: 'project' }, 'New project (File Upload API)'),
    h('option', { value: 'vehicle' }, 'Vehicle + side (360 vehicle video)'),
    h('option', { value: 'walkthrough' }, 'Walkthrough upload object'),
    h('option', { value: 'capture' }, 'Capture (gaussian splat)'))
  targetPick.value = (query.get('target') as Target) || localStorage.getItem('omnidrop.target') || 'project'
  const options = h('div', { class: 'options', id: 'target-options' })
  const dash = h('div', { id: 'dashboard', class: 'dash' })
  const resume = h('div', { class: 'resume', id: 'resume', 'aria-live': 'polite' })

  let uppy: Uppy | null = null
  let onComplete: (ok: UppyFile<any, any>[]) => Promise<void> = async () => {}
  let read: () => Record<string, string> = () => ({})
  let viaOf: (f: UppyFile<any, any>) => string = () => 'tus'

  const field = (id: string, label: string, input: HTMLElement, hint?: string) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null)

  async function build(): Promise<void> {
    uppy?.destroy()
    const target = targetPick.value as Target
    localStorage.setItem('omnidrop.target', target)
    options.replaceChildren()
    dash.replaceChildren()
    resume.replaceChildren()
    const u = new Uppy({ id: `omnidrop-${target}`, autoProceed: false, allowMultipleUploadBatches: true })
    uppy = u
    if (target === 'project') {
      const title = h('input', { id: 'project-title', placeholder: 'optional', value: localStorage.getItem(TITLE) ?? '' })
      title.addEventListener('input', () => localStorage.setItem(TITLE, title.value))
      const from = h('input', { id: 'multipart-from', type: 'number', min: 5, step: 1, value: s.multipartFromMiB })
      const chunk = h('input', { id: 'tus-chunk', type: 'number', min: 1, step: 1, value: s.tusChunkMiB })
      const save = () => {
        localStorage.setItem(SETTINGS, JSON.stringify({ multipartFromMiB: +from.value, tusChunkMiB: +chunk.value }))
        s = settings()
      }
      from.addEventListener('change', () => { save(); void build() })
      chunk.addEventListener('change', () => { save(); void build() })
      const custom = s.multipartFromMiB !== DEFAULTS.multipartFromMiB || s.tusChunkMiB !== DEFAULTS.tusChunkMiB
      options.append(field('project-title', 'Project title', title),
        h('details', { class: 'advanced', id: 'advanced', open: custom },
          h('summary', {}, 'Advanced'),
          h('p', { class: 'hint' }, `How files travel. The defaults suit almost everyone: files from ${DEFAULTS.multipartFromMiB} MiB go as S3 multipart (parallel parts), smaller ones over tus in ${DEFAULTS.tusChunkMiB} MiB requests.`),
          h('div', { class: 'advanced-body' },
            field('multipart-from', 'S3 multipart from (MiB)', from, 'Smaller files go over tus.'),
            field('tus-chunk', 'tus request size (MiB)', chunk),
            h('button', { type: 'button', id: 'advanced-reset', onclick: () => { localStorage.removeItem(SETTINGS); s = settings(); void build() } }, 'Back to the defaults'))))
      const threshold = Math.max(5, +from.value || DEFAULTS.multipartFromMiB) * MiB
      const large = (f: UppyFile<any, any>) => (f.size ?? 0) >= threshold
      const completed = new Map<string, string>() // S3 key -> upload id, from the signed CompleteMultipartUpload
      viaOf = (f) => (large(f) ? 'S3 multipart' : 'tus')
      useFor(u, (f) => !large(f), () => u.use(Tus, tusOptions(Math.max(1, +chunk.value || DEFAULTS.tusChunkMiB))))
      useFor(u, large, () => u.use(AwsS3, {
        shouldUseMultipart: true, limit: 4,
        signRequest: async (req: any) => {
          if (req.method === 'POST' && req.uploadId) completed.set(req.key, req.uploadId)
          return signRequest(req)
        },
      }))
      read = () => ({ title: title.value.trim() })
      onComplete = async (ok) => {
        const session = await api('/api/v1/uploads', { method: 'POST' })
        for (const f of ok) {
          const key = (f.response?.body as any)?.key as string | undefined
          const uploadId = (key && completed.get(key)) || mpu(f)?.uploadId
          const source = large(f) && key && uploadId
            ? { multipart: { uploadId, key } }
            : { tus_url: f.response?.uploadURL ?? f.tus?.uploadUrl }
          await api(`/api/v1/uploads/${session.upload_id}/files`, { method: 'POST', json: { filename: f.name, ...source } })
        }
        const t = read().title
        const project = await api('/api/v1/projects', { method: 'POST', json: { upload_id: session.upload_id, ...(t ? { title: t } : {}) } })
        localStorage.removeItem(TITLE)
        say(`Project ${project.name}${t ? ` (“${t}”)` : ''} created from ${ok.length} file(s).`, 'ok')
        log.append(h('li', {}, h('a', { href: `#/project/${encodeURIComponent(project.name)}`, id: 'new-project-link', 'data-name': project.name }, `Open project ${project.name}`)))
      }
    } else if (target === 'vehicle') {
      const vehicles = h('select', { id: 'vehicle' }, h('option', { value: '' }, 'New vehicle'))
      const name = h('input', { id: 'vehicle-name', placeholder: 'name of a new vehicle' })
      const side = h('select', { id: 'side' }, ...['OUTSIDE', 'INSIDE', 'OPEN'].map((x) => h('option', { value: x }, x)))
      try {
        for (const v of (await api('/360/vehicles')).vehicles) vehicles.append(h('option', { value: v.uuid }, v.name || v.uuid))
      } catch (err) {
        say(`Vehicles: ${(err as Error).message}`, 'error')
      }
      options.append(field('vehicle', 'Vehicle', vehicles), field('vehicle-name', 'New vehicle name', name), field('side', 'Side', side))
      u.setOptions({ restrictions: { maxFileSize: 100_000_000, maxNumberOfFiles: 1, allowedFileTypes: ['video/*', '.mp4', '.mov', '.mkv', '.webm', '.avi', '.wmv', '.flv', '.qt'] } })
      viaOf = () => 'form upload'
      u.use(XHRUpload, { endpoint: '/360/upload', fieldName: 'video', formData: true, headers: bearer(), allowedMetaFields: ['side', 'vehicle_uuid'] } as any)
      u.addPreProcessor(async (ids) => { // awaited before the uploader starts
        let uuid = vehicles.value
        if (!uuid) {
          const v = await api('/360/vehicles', { method: 'POST', json: name.value.trim() ? { name: name.value.trim() } : {} })
          uuid = v.uuid
          vehicles.append(h('option', { value: uuid }, v.name || uuid))
          vehicles.value = uuid
        }
        for (const id of ids) u.setFileMeta(id, { side: side.value, vehicle_uuid: uuid })
      })
      onComplete = async (ok) => {
        for (const f of ok) say(`${f.name}: stored, frames job ${f.response?.body?.job_id} (${side.value}).`, 'ok')
        log.append(h('li', {}, h('a', { href: `#/vehicle/${vehicles.value}` }, 'Open the vehicle')))
      }
    } else if (target === 'walkthrough') {
      const projects = h('select', { id: 'wt-project' })
      const drawings = h('select', { id: 'wt-drawing' })
      const objects = h('select', { id: 'wt-upload' }, h('option', { value: '' }, 'New upload object'))
      const name = h('input', { id: 'wt-name', placeholder: 'e.g. Level 2, morning' })
      const date = h('input', { id: 'wt-date', type: 'date', value: new Date().toISOString().slice(0, 10) })
      const by = h('input', { id: 'wt-by', placeholder: 'your name' })
      const start = h('input', { id: 'wt-start', placeholder: 'lat,lng', required: true })
      const end = h('input', { id: 'wt-end', placeholder: 'lat,lng', required: true })
      const count = h('input', { id: 'wt-points', type: 'number', min: 0, step: 1, value: 0 })
      const loadDrawings = async () => {
        drawings.replaceChildren()
        objects.replaceChildren(h('option', { value: '' }, 'New upload object'))
        if (!projects.value) return
        for (const d of (await api(`/360/projects/${encodeURIComponent(projects.value)}/drawings`)).drawings) drawings.append(h('option', { value: d.id }, d.name))
        for (const o of (await api(`/360/projects/${encodeURIComponent(projects.value)}/uploads`)).uploads) objects.append(h('option', { value: o.id }, `${o.name} (${o.date}, ${o.processing_status})`))
      }
      try {
        for (const p of (await api('/360/projects')).projects) projects.append(h('option', { value: p.id }, p.name || p.id))
        if (query.get('project')) projects.value = query.get('project')!
        await loadDrawings()
      } catch (err) {
        say(`Walkthrough projects: ${(err as Error).message}`, 'error')
      }
      projects.addEventListener('change', loadDrawings)
      options.append(h('p', { class: 'hint' }, 'A walkthrough needs a project and a drawing (floor plan) first: ',
        h('a', { href: '#/walkthroughs', id: 'manage-walkthroughs' }, 'make or manage them here'), '.'),
        field('wt-project', 'Project', projects), field('wt-drawing', 'Drawing (floor plan)', drawings),
        field('wt-upload', 'Upload object', objects), field('wt-name', 'Name (new object)', name), field('wt-date', 'Date', date),
        field('wt-by', 'Uploaded by', by), field('wt-start', 'Start position', start), field('wt-end', 'End position', end),
        field('wt-points', 'Target points', count, '0: one every few seconds of video'))
      viaOf = () => 'tus'
      u.use(Tus, tusOptions(s.tusChunkMiB, { walkthrough_upload_id: '' }))
      u.addPreProcessor(async (ids) => { // awaited before the uploader starts
        if (!objects.value) {
          const [y, m, d] = date.value.split('-')
          const q = new URLSearchParams({ date: `${d}-${m}-${y}`, name: name.value || 'walkthrough', drawing_id: drawings.value, uploaded_by: by.value || 'web' })
          const obj = await api(`/360/${encodeURIComponent(projects.value)}/upload?${q}`, { method: 'POST' })
          objects.append(h('option', { value: obj.id }, `${obj.name} (${obj.date})`))
          objects.value = String(obj.id)
        }
        for (const id of ids) u.setFileMeta(id, { walkthrough_upload_id: objects.value })
      })
      onComplete = async (ok) => {
        const links = ok.map((f) => ({ url: f.response?.uploadURL ?? f.tus?.uploadUrl, title: f.name, file_extension: (f.extension || '').toLowerCase() }))
        const obj = await api(`/360/${objects.value}/upload?uploaded_by=${encodeURIComponent(by.value || 'web')}`, {
          method: 'PUT', json: { asset_type: 'video', upload: links, start_position: start.value, end_position: end.value, target_points_count: Math.max(0, +count.value || 0) } })
        say(`Walkthrough ${obj.name}: ${obj.videos.length} video(s) linked, ${obj.processing_status}.`, 'ok')
        log.append(h('li', {}, h('a', { href: `#/walkthrough/${obj.id}` }, 'Open the walkthrough')))
      }
    } else {
      const format = h('select', { id: 'capture-format' }, ...['video', 'bulk-images', 'commonformat-ios'].map((x) => h('option', { value: x }, x)))
      options.append(field('capture-format', 'Input format', format))
      viaOf = () => 'capture parts'
      u.use(CaptureUploader, { format: () => format.value })
      onComplete = async (ok) => {
        for (const f of ok) say(`${f.name}: capture ${(f.response?.body as any)?.eid} uploaded, queued for processing.`, 'ok')
      }
    }
    u.use(GoldenRetriever, { serviceWorker: false })
    u.use(Dashboard, {
      inline: true, target: dash, width: '100%', height: 420, proudlyDisplayPoweredByUppy: false,
      showProgressDetails: true, fileManagerSelectionType: 'both',
      note: target === 'vehicle' ? 'One video, up to 100 MB.' : 'Drop files or folders. Uploads resume after a reload: choose the same file again.',
    } as any)
    const seen = new Set<string>()
    u.on('upload', (_id, files) => {
      for (const f of files ?? []) {
        if (f.tus?.uploadUrl || mpu(f)?.uploadId) say(`${f.name}: resuming the earlier upload.`)
      }
    })
    u.on('upload-progress', (f, p) => {
      if (!f || seen.has(f.id) || !p.bytesUploaded) return
      seen.add(f.id)
      log.append(h('li', { class: 'progress-start', 'data-file': f.name, 'data-bytes': p.bytesUploaded },
        `${f.name}: sending over ${viaOf(f)}, first progress at ${bytes(p.bytesUploaded)}`))
    })
    // After a reload: only say something when there is something to resume, and offer a Resume button
    // that starts once every restored file has its bytes back.
    const refreshResume = () => {
      const files = u.getFiles()
      const unfinished = files.filter((f) => !f.progress.uploadComplete)
      const ghosts = unfinished.filter((f) => f.isGhost)
      const restored = unfinished.filter((f) => (f as any).isRestored)
      if (!restored.length) {
        resume.replaceChildren()
        return
      }
      const text = ghosts.length
        ? `${restored.length} unfinished upload(s) restored. Choose ${ghosts.map((f) => f.name).join(', ')} again (Add more) to give ${ghosts.length === 1 ? 'it its' : 'them their'} bytes back, then Resume.`
        : `${restored.length} unfinished upload(s) restored.`
      const button = h('button', { type: 'button', id: 'resume-uploads', class: 'primary', disabled: ghosts.length > 0,
        onclick: () => {
          resume.replaceChildren()
          // Golden Retriever's own resume: picks the restored uploads up where the server has them.
          if (u.getState().recoveredState) u.emit('restore-confirmed')
          else void u.upload()
        } }, 'Resume')
      resume.replaceChildren(h('p', { id: 'resume-text' }, text), button)
    }
    u.on('restored', () => {
      refreshResume()
      const n = u.getFiles().filter((f) => !f.progress.uploadComplete).length
      if (n) announce(`Restored ${n} unfinished upload(s).`)
    })
    u.on('file-added', () => { if (resume.childElementCount) refreshResume() })
    u.on('file-removed', () => { if (resume.childElementCount) refreshResume() })
    u.on('upload', () => resume.replaceChildren())
    u.on('upload-error', (f, err) => say(`${f?.name}: ${err.message} — use retry to try again.`, 'error'))
    u.on('complete', async (result) => {
      const ok = result.successful ?? []
      if (!ok.length) return
      try {
        await onComplete(ok)
      } catch (err) {
        say(`After upload: ${err instanceof ApiError ? err.message : String(err)}`, 'error')
      }
    })
  }

  targetPick.addEventListener('change', () => void build())
  await build()

  const el = h('section', { class: 'upload' },
    h('h1', {}, 'Upload'),
    h('div', { class: 'card' }, field('target', 'Target', targetPick), options),
    resume, dash,
    h('h2', {}, 'Results'), log)
  return { el, destroy: () => uppy?.destroy() }
}
