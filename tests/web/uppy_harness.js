// Browser side of tests/web/test_uppy_s3.py: a bare page with one Uppy and @uppy/aws-s3, configured
// the way each major version's docs describe for a self-hosted signer, against a live omnidrop:
//   Uppy 5: `endpoint` (omnidrop's base URL) + `headers` (Authorization: Bearer <key>);
//   Uppy 6: `companionEndpoint` = <base>/companion/<credential> (v6 sends no headers), or
//           `signRequest` calling POST <base>/s3/sign with the key (cfg.mode === 'signRequest').
// Golden Retriever keeps the multipart state across a reload. State for the driver is in window.harnessState.
const MiB = 1024 * 1024

export function install({ Uppy, AwsS3, GoldenRetriever, major }) {
  window.harness = {
    major,
    start(cfg) {
      const uppy = new Uppy({ id: 'harness', autoProceed: false, debug: false })
      const signRequest = async (req) => {
        const res = await fetch(`${cfg.base}/s3/sign`, {
          method: 'POST', body: JSON.stringify(req),
          headers: { Authorization: `Bearer ${cfg.key}`, 'Content-Type': 'application/json' },
        })
        if (!res.ok) throw new Error(`signing failed: ${res.status} ${await res.text()}`)
        return res.json()
      }
      const signer = major === 5
        ? { endpoint: cfg.base, headers: { Authorization: `Bearer ${cfg.key}` } }
        : cfg.mode === 'signRequest'
          ? { signRequest }
          : { companionEndpoint: `${cfg.base}/companion/${encodeURIComponent(cfg.key)}` }
      uppy.use(AwsS3, { ...signer, shouldUseMultipart: true, getChunkSize: () => 5 * MiB, limit: 1 })
      uppy.use(GoldenRetriever, { serviceWorker: false })
      const state = { parts: [], errors: [], done: false, restored: false, progress: 0, network: [] }
      window.harnessState = state
      const status = document.querySelector('#status')
      const show = () => {
        status.textContent = `Uppy ${major}: ${state.progress}% · parts ${state.parts.join(', ') || '–'}` +
          (state.network.length ? ` · ${state.network.join(' → ')}` : '') + (state.restored ? ' · restored' : '') + (state.done ? ' · complete' : '') +
          (state.errors.length ? ` · errors: ${state.errors.join(' | ')}` : '')
      }
      uppy.on('s3-multipart:part-uploaded', (_file, part) => { state.parts.push(part.PartNumber); show() })
      uppy.on('upload-progress', (file, p) => { state.progress = Math.floor(100 * p.bytesUploaded / (p.bytesTotal || file.size)); show() })
      uppy.on('upload-error', (_file, err) => { state.errors.push(String(err?.message ?? err)); show() })
      uppy.on('upload-success', () => { state.done = true; show() })
      uppy.on('restored', () => { state.restored = true; show() })
      for (const event of ['offline', 'online']) window.addEventListener(event, () => { state.network.push(event); show() })
      const input = document.querySelector('#file')
      input.addEventListener('change', () => {
        for (const f of input.files) {
          // After a reload the restored file is a ghost: adding the same file gives it its bytes back.
          uppy.addFile({ name: f.name, type: f.type || 'application/octet-stream', data: f, source: 'Local', isRemote: false })
        }
        input.value = ''
      })
      window.uppy = uppy
      show()
    },
  }
}
