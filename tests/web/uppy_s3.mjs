// One @uppy/aws-s3 upload in Debian's chromium, driven by tests/web/test_uppy_s3.py:
//   node tests/web/uppy_s3.mjs '<json config>'
// config: page (URL of the harness page), pageDir (its files, served at `page` through the browser when
// the page is on omnidrop's own origin), base, key, file, artifacts, name.
// The spells, each on the first try of a part PUT (parts are 5 MiB, sent one at a time):
//   part 2: the browser goes offline and the PUT fails as a lost connection; back online a moment later.
//           Uppy 5 carries on by itself; Uppy 6 reports an upload error, and the page retries the file
//           as the Dashboard's "Retry" button does (the plugin then lists the parts and goes on);
//   part 3: held, then the page reloads; Golden Retriever restores the upload, the file is re-selected
//           and the upload goes on from the parts the server lists.
// Prints one JSON line with what happened; exits 1 with the reason when a step fails.
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../web/package.json'))
const { chromium } = require('playwright-core')

const cfg = JSON.parse(process.argv[2])
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
})
const context = await browser.newContext({ viewport: { width: 900, height: 300 } })
const page = await context.newPage()
page.setDefaultTimeout(cfg.timeout_ms ?? 30000)
const pageErrors = []
page.on('pageerror', (e) => pageErrors.push(String(e)))
const shot = (step) => page.screenshot({ path: path.join(cfg.artifacts, `${cfg.name}-${step}.png`) })

if (cfg.pageDir) {
  // Same origin: the page is answered at an omnidrop URL, so every request it makes is same-origin.
  const types = { '.html': 'text/html', '.js': 'text/javascript' }
  await context.route(`${new URL(cfg.page).origin}/__uppy-harness/**`, async (route) => {
    const name = path.basename(new URL(route.request().url()).pathname)
    route.fulfill({ body: await readFile(path.join(cfg.pageDir, name)), contentType: types[path.extname(name)] })
  })
}

const log = [] // every request omnidrop's S3 routes and part URLs saw from the page, in order
let phase = 'first'
let held = null
const tries = {}
page.on('request', (r) => {
  const u = new URL(r.url())
  if (/\/s3\/(multipart|sign)/.test(u.pathname) || u.pathname.startsWith('/_omnidrop/')) {
    log.push({ phase, method: r.method(), path: u.pathname.replace(/\/companion\/[^/]+/, '/companion/<credential>') })
  }
})
let createdKey = null
page.on('response', async (r) => {
  // Companion mode: the create answer names the key; signRequest mode: the signature of the create does.
  if (r.request().method() === 'POST' && /\/s3\/(multipart|sign)$/.test(new URL(r.url()).pathname) && r.ok()) {
    const key = (await r.json()).key
    if (key) createdKey = key
  }
})
let offlineSeen = false
await context.route('**/_omnidrop/parts/**', async (route) => {
  const number = Number(new URL(route.request().url()).pathname.split('/').pop())
  tries[number] = (tries[number] ?? 0) + 1
  if (number === 2 && tries[number] === 1) {
    await context.setOffline(true)
    await route.abort('internetdisconnected')
    await page.waitForFunction(() => !navigator.onLine)
    offlineSeen = true
    await shot('offline')
    setTimeout(() => context.setOffline(false), 1500) // a short spell, not a measurement
    return
  }
  if (number === 3 && phase !== 'after-reload') {
    held = route // never answered: the page reloads while this PUT is in flight
    return
  }
  await route.continue()
})

async function open() {
  await page.goto(cfg.page)
  await page.waitForFunction(() => window.harness)
  await page.evaluate((c) => window.harness.start(c), { base: cfg.base, key: cfg.key, mode: cfg.mode })
}

let code = 0
try {
  await open()
  await page.setInputFiles('#file', cfg.file)
  await page.evaluate(() => { window.uppy.upload() })
  // Part 2 goes through after the spell, or the file ends in an upload error once the browser is back online.
  await page.waitForFunction(() => {
    const s = window.harnessState
    return s.parts.includes(2) || (s.errors.length > 0 && navigator.onLine)
  }, null, { timeout: 60000 })
  let retried = false
  if (!(await page.evaluate(() => window.harnessState.parts.includes(2)))) {
    // What the Dashboard's "Retry" button does.
    retried = true
    await shot('error')
    phase = 'retry'
    await page.evaluate(() => { window.uppy.retryAll() })
    await page.waitForFunction(() => window.harnessState.parts.includes(2), null, { timeout: 60000 })
  }
  while (!held) await page.waitForTimeout(50)
  const before = await page.evaluate(() => window.harnessState)
  await shot('before-reload')
  phase = 'after-reload'
  await page.reload()
  await held.abort().catch(() => undefined)
  await page.waitForFunction(() => window.harness)
  await page.evaluate((c) => window.harness.start(c), { base: cfg.base, key: cfg.key, mode: cfg.mode })
  await page.waitForFunction(() => window.harnessState.restored)
  await page.setInputFiles('#file', cfg.file)
  // What the Dashboard's "Resume" button does: Golden Retriever restores the upload it recorded.
  await page.evaluate(() => { window.uppy.emit('restore-confirmed') })
  await page.waitForFunction(() => window.harnessState.done || window.harnessState.errors.length, null, { timeout: 60000 })
  const after = await page.evaluate(() => window.harnessState)
  await shot('done')
  if (!after.done) throw new Error(`upload failed after the reload: ${after.errors.join(' | ')}`)
  console.log(JSON.stringify({ ok: true, key: createdKey, before, after, offlineSeen, retried, tries, log, pageErrors }))
} catch (err) {
  await shot('failure').catch(() => undefined)
  const state = await page.evaluate(() => window.harnessState).catch(() => null)
  console.log(JSON.stringify({ ok: false, error: String(err?.stack ?? err), state, tries, log, pageErrors }))
  code = 1
} finally {
  await browser.close()
}
process.exit(code)
