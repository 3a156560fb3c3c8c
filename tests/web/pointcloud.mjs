// The point-cloud viewer in Debian's chromium (playwright-core from web/node_modules), driven by
// tests/web/test_pointcloud.py and bench/pointclouds: node tests/web/pointcloud.mjs '<json config>'.
// Config: base, key, artifacts, project, file (opens #/pointcloud/<project>/<file>), shot (a name),
// or page (any URL: a bench viewer page). Prints one JSON line: points/nodes drawn, first-frame time,
// how much of the canvas is drawn; exits 1 with the reason when a step fails.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../web/package.json'))
const { chromium } = require('playwright-core')

const cfg = JSON.parse(process.argv[2])
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
})
const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage()
page.setDefaultTimeout(cfg.timeout_ms ?? 60000)
const pageErrors = []
page.on('pageerror', (e) => pageErrors.push(String(e)))
const shot = (name) => page.screenshot({ path: path.join(cfg.artifacts, `pointcloud-${cfg.shot ?? 'view'}-${name}.png`) })

/** Share of the canvas's pixels that are not the background (the WebGL canvas keeps its buffer). */
const drawn = () => page.evaluate(() => {
  const src = document.querySelector('#pointcloud-view canvas, canvas')
  const c = document.createElement('canvas')
  c.width = src.width; c.height = src.height
  const g = c.getContext('2d')
  g.drawImage(src, 0, 0)
  const px = g.getImageData(0, 0, c.width, c.height).data
  let lit = 0
  for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i] - 16) + Math.abs(px[i + 1] - 20) + Math.abs(px[i + 2] - 24) > 30) lit++
  return lit / (px.length / 4)
})

let code = 0
try {
  let result
  if (cfg.page) { // a bench page: it sets document.body.dataset.firstFrameMs when it drew
    const t0 = Date.now()
    await page.goto(cfg.page)
    await page.waitForFunction(() => document.body.dataset.firstFrameMs, null, { timeout: cfg.timeout_ms ?? 60000 })
    const firstFrameMs = Number(await page.evaluate(() => document.body.dataset.firstFrameMs))
    result = { firstFrameMs, wallMs: Date.now() - t0, drawn: await drawn() }
    await shot('first')
  } else {
    await page.addInitScript((key) => localStorage.setItem('omnidrop.credential', JSON.stringify({ kind: 'key', secret: key, label: 'test key' })), cfg.key)
    const view = '#pointcloud-view'
    await page.goto(`${cfg.base}/app/#/pointcloud/${encodeURIComponent(cfg.project)}/${encodeURIComponent(cfg.file)}`)
    if (cfg.expect_error) {
      await page.locator('#pointcloud-status.error').waitFor()
      result = { status: await page.locator('#pointcloud-status').textContent() }
      await shot('error')
    } else {
      await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.firstFrameMs, view)
      const firstFrameMs = Number(await page.locator(view).getAttribute('data-first-frame-ms'))
      const firstPoints = Number(await page.locator(view).getAttribute('data-points'))
      await shot('first')
      // Streams on: the status says loading until every wanted node is in.
      await page.waitForFunction(() => !document.querySelector('#pointcloud-status').textContent.includes('loading'), null, { timeout: 90000 })
      await page.waitForTimeout(300)
      const points = Number(await page.locator(view).getAttribute('data-points'))
      const nodes = Number(await page.locator(view).getAttribute('data-nodes'))
      const order = (await page.locator(view).getAttribute('data-order')).split(' ')
      const before = await drawn()
      await shot('loaded')
      // Orbit: a drag turns the camera and the picture changes.
      const box = await page.locator(view).boundingBox()
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
      await page.mouse.down()
      await page.mouse.move(box.x + box.width / 2 + 200, box.y + box.height / 2 + 40, { steps: 8 })
      await page.mouse.up()
      await page.waitForTimeout(500)
      await page.selectOption('#pointcloud-colour', 'height')
      await page.waitForTimeout(300)
      const after = await drawn()
      await shot('turned-height')
      const facts = await page.locator('#pointcloud-facts').textContent()
      const panoramas = await page.locator('a.button', { hasText: 'Panorama:' }).count()
      result = { firstFrameMs, firstPoints, points, nodes, order, drawn: before, drawnAfter: after, facts, panoramas,
        status: await page.locator('#pointcloud-status').textContent() }
    }
  }
  console.log(JSON.stringify({ ok: true, ...result, pageErrors }))
} catch (err) {
  await shot('failure').catch(() => undefined)
  console.log(JSON.stringify({ ok: false, error: String(err?.stack ?? err), pageErrors }))
  code = 1
} finally {
  await browser.close()
}
process.exit(code)
