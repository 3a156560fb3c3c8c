// Uploads one file with tus-js-client, unchanged, as a browser or node app would.
// Usage: node upload.mjs <config.json>
// config: {endpoint, file, token, protocol, chunkSize, pauseAfterChunks, parallelUploads, retryDelays}
// Prints one JSON line: {url, offset, size, paused} on success; exits 1 with the error otherwise.
import { readFileSync } from 'node:fs'
import * as tus from 'tus-js-client'

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const data = readFileSync(config.file)

function upload(onPaused) {
  return new Promise((resolve, reject) => {
    let chunks = 0
    const options = {
      endpoint: config.endpoint,
      headers: { Authorization: `Bearer ${config.token}` },
      protocol: config.protocol || 'tus-v1',
      chunkSize: config.chunkSize || Infinity,
      retryDelays: config.retryDelays || [0, 250, 500, 1000, 2000, 4000],
      parallelUploads: config.parallelUploads || 1,
      metadata: { filename: config.filename || 'capture.insv', filetype: 'video/mp4' },
      onError: reject,
      onSuccess: () => resolve(up),
      onChunkComplete: () => {
        chunks += 1
        if (onPaused && chunks === config.pauseAfterChunks) {
          up.abort().then(() => onPaused(up, resolve, reject))
        }
      },
    }
    const up = new tus.Upload(data, options)
    up.start()
  })
}

let paused = false
const up = await upload(config.pauseAfterChunks ? (first, resolve, reject) => {
  // Paused: a new Upload object resumes from the server's offset, as after a page reload.
  paused = true
  const again = new tus.Upload(data, {
    ...first.options, uploadUrl: first.url, onSuccess: () => resolve(again), onError: reject,
    onChunkComplete: null,
  })
  again.start()
} : null)
process.stdout.write(JSON.stringify({ url: up.url, size: data.length, paused }) + '\n')
