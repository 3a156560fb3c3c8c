// An Uppy uploader for the Captures API (POST /api/v1/captures, …/create-upload-url/{n}, …/uploaded).
//
// Uppy 6's @uppy/aws-s3 only speaks S3's own requests (signed one by one, or through Companion); the
// Captures API hands out one part URL at a time and completes with its own JSON, so the capture target
// has this small uploader instead: parts are PUT in order with XMLHttpRequest (progress, and the part's
// ETag from the response), then the capture is marked uploaded. The API has no part listing, so a
// reload starts the capture's parts again (the server overwrites parts by number).
import { BasePlugin, type Uppy } from '@uppy/core'
import type { UppyFile } from '@uppy/core'
import { api } from './api'

const MiB = 1024 * 1024

/** The capture's part size, as omnidrop computes it: 16 MiB, or more whole MiBs past 10 000 parts. */
export function capturePartSize(size: number): number {
  return Math.max(16 * MiB, Math.ceil(size / 10000 / MiB) * MiB)
}

type Opts = { id?: string; format: () => string; retryDelays?: number[] }

function put(url: string, body: Blob, onProgress: (n: number) => void, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    xhr.upload.onprogress = (e) => onProgress(e.loaded)
    xhr.onload = () => {
      const etag = xhr.getResponseHeader('ETag')
      if (xhr.status >= 200 && xhr.status < 300 && etag) resolve(etag)
      else reject(new Error(`part upload answered ${xhr.status}${etag ? '' : ' without an ETag'}`))
    }
    xhr.onerror = () => reject(new Error('network error while sending a part'))
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'))
    signal.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(body)
  })
}

export default class CaptureUploader extends BasePlugin<any, any, any> {
  declare opts: Opts & { id: string }
  #aborts = new Map<string, AbortController>()

  constructor(uppy: Uppy<any, any>, opts: Opts) {
    super(uppy, opts as any)
    this.id = opts.id ?? 'CaptureUploader'
    this.type = 'uploader'
  }

  #onRemoved = (file: UppyFile<any, any> | undefined) => {
    if (file) this.#aborts.get(file.id)?.abort()
  }

  #onCancelAll = () => {
    for (const a of this.#aborts.values()) a.abort()
  }

  async #withRetries<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    const delays = this.opts.retryDelays ?? [0, 1000, 3000, 5000]
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        if (signal.aborted || attempt >= delays.length || (err as any)?.status < 500) throw err
        await new Promise((r) => setTimeout(r, delays[attempt]))
      }
    }
  }

  async #uploadOne(file: UppyFile<any, any>): Promise<void> {
    const abort = new AbortController()
    this.#aborts.set(file.id, abort)
    const size = file.size ?? (file.data as Blob).size
    const partSize = capturePartSize(size)
    const started = Date.now()
    try {
      const capture = await api('/api/v1/captures', { method: 'POST', json: { name: file.name, bytesize: size, input_data_format: this.opts.format() } })
      this.uppy.setFileState(file.id, { captureEid: capture.eid } as any)
      const parts: { number: number; etag: string }[] = []
      let done = 0
      const count = Math.max(1, Math.ceil(size / partSize))
      for (let n = 1; n <= count; n++) {
        const at = (n - 1) * partSize
        const body = (file.data as Blob).slice(at, Math.min(size, at + partSize))
        const etag = await this.#withRetries(async () => {
          const got = await api(`/api/v1/captures/${capture.eid}/create-upload-url/${n}`, { method: 'POST', json: { eid: capture.eid, bytesize: size } })
          return put(got.upload_url, body, (sent) => this.uppy.emit('upload-progress', file, { uploadStarted: started, bytesUploaded: done + sent, bytesTotal: size }), abort.signal)
        }, abort.signal)
        parts.push({ number: n, etag })
        done += body.size
      }
      const c = await api(`/api/v1/captures/${capture.eid}/uploaded`, { method: 'POST', json: { eid: capture.eid, parts } })
      this.uppy.emit('upload-success', this.uppy.getFile(file.id), { status: 200, body: { eid: capture.eid, state: c.state }, uploadURL: c.share_url ?? undefined })
    } catch (err) {
      if ((err as Error).name !== 'AbortError') this.uppy.emit('upload-error', this.uppy.getFile(file.id), err as Error)
    } finally {
      this.#aborts.delete(file.id)
    }
  }

  #upload = async (ids: string[]) => {
    const files = ids.map((id) => this.uppy.getFile(id)).filter((f) => f && !f.progress.uploadComplete && !f.isGhost)
    if (!files.length) return
    this.uppy.emit('upload-start', files)
    for (const f of files) await this.#uploadOne(f) // one capture at a time: the processing queue takes them in order
  }

  install(): void {
    this.uppy.addUploader(this.#upload)
    this.uppy.on('file-removed', this.#onRemoved)
    this.uppy.on('cancel-all', this.#onCancelAll)
  }

  uninstall(): void {
    this.uppy.removeUploader(this.#upload)
    this.uppy.off('file-removed', this.#onRemoved)
    this.uppy.off('cancel-all', this.#onCancelAll)
  }
}
