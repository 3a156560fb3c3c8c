// The 3D viewers in Debian's chromium (headless, WebGL through SwiftShader), driven by
// tests/web/test_viewers_3d.py:  node tests/web/viewers_3d.mjs '<json config>'
// For each viewer: open the page, wait until it says loaded (or failed), let it draw, screenshot, and
// measure the canvas (how many pixels differ from the background). Prints one JSON line.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../web/package.json'))
const { chromium } = require('playwright-core')

const cfg = JSON.parse(process.argv[2])
const T0 = Date.now()
const mark = (w) => // progress with timings on stderr, for a slow run's diagnosis
  process.stderr.write(`${w} ${(Date.now() - T0) / 1000}s\n`)
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-gl=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
})
const context = await browser.newContext({ viewport: { width: 800, height: 640 } })
await context.addInitScript((key) => {
  localStorage.setItem('omnidrop.credential', JSON.stringify({ kind: 'key', secret: key, label: 'test key' }))
}, cfg.key)
const results = {}
mark('launched')
let code = 0
try {
  for (const v of cfg.views) {
    const page = await context.newPage()
    page.setDefaultTimeout(cfg.timeout_ms ?? 60000)
    const errors = []
    const logs = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => { if (m.type() === 'error') logs.push(m.text()) })
    await page.goto(`${cfg.base}/app/#${v.hash}`)
    const box = page.locator(`#${v.box}`)
    await page.waitForFunction((id) => {
      const el = document.getElementById(id)
      return el && (el.dataset.loaded === 'true' || el.dataset.failed === 'true')
    }, v.box)
    const failed = await box.getAttribute('data-failed')
    mark(`${v.name} loaded`)
    await page.waitForTimeout(v.settle_ms ?? 1500) // a few frames (Spark sorts splats on a worker first)
    const webgl2 = await page.evaluate(() => !!document.createElement('canvas').getContext('webgl2'))
    const measure = () => page.evaluate(() => {
      const c = document.querySelector('.stage canvas')
      const probe = document.createElement('canvas')
      probe.width = 200
      probe.height = Math.round(200 * c.height / c.width)
      const g = probe.getContext('2d')
      g.drawImage(c, 0, 0, probe.width, probe.height)
      const px = g.getImageData(0, 0, probe.width, probe.height).data
      const bg = [px[0], px[1], px[2]]
      let differ = 0
      const colours = new Set()
      for (let i = 0; i < px.length; i += 4) {
        if (Math.abs(px[i] - bg[0]) + Math.abs(px[i + 1] - bg[1]) + Math.abs(px[i + 2] - bg[2]) > 30) differ++
        colours.add(((px[i] >> 4) << 8) | ((px[i + 1] >> 4) << 4) | (px[i + 2] >> 4))
      }
      return { fraction: differ / (px.length / 4), colours: colours.size, background: bg }
    })
    mark('settled')
    const before = await measure()
    mark('measured')
    const pixels = () => page.evaluate(() => document.querySelector('.stage canvas').toDataURL('image/png'))
    const still = await pixels()
    await page.screenshot({ path: path.join(cfg.artifacts, `${v.name}.png`) })
    // Orbit: drag across the canvas; the picture changes.
    const b = await box.boundingBox()
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2)
    await page.mouse.down()
    await page.mouse.move(b.x + b.width / 2 + 220, b.y + b.height / 2 + 40, { steps: 3 })
    await page.mouse.up()
    await page.waitForTimeout(600)
    mark('dragged')
    const orbited = await pixels()
    const after = await measure()
    let buttonChanged = null
    if (v.button) { // a viewer button (Flip, Z up) turns the model: the picture changes again
      await page.getByRole('button', { name: v.button, exact: true }).click()
      await page.waitForTimeout(600)
      buttonChanged = (await pixels()) !== orbited
      await page.screenshot({ path: path.join(cfg.artifacts, `${v.name}-${v.button.replace(/\W+/g, '-').toLowerCase()}.png`) })
    }
    results[v.name] = {
      failed, before, webgl2,
      status: await page.locator('#viewer-status').textContent(),
      after, orbitChanged: orbited !== still, buttonChanged,
      errors, logs,
    }
    await page.close()
    mark('closed')
  }
  console.log(JSON.stringify({ ok: true, results }))
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err?.stack ?? err), results }))
  code = 1
} finally {
  await browser.close()
}
process.exit(code)
