// The BIM viewer in Debian's chromium (playwright-core from web/node_modules), driven by
// tests/web/test_bim_view.py and bench/bim/run.py (scenarios firstView and webIfc):
//   node tests/web/bim_browser.mjs <scenario> '<json config>'
// Prints one JSON line with what the page showed; screenshots go to config.artifacts.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../web/package.json'))
const { chromium } = require('playwright-core')

const [scenario, raw] = process.argv.slice(2)
const cfg = JSON.parse(raw)

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--enable-precise-memory-info', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
})
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
const page = await context.newPage()
page.setDefaultTimeout(cfg.timeout_ms ?? 30000)
const pageErrors = []
page.on('pageerror', (e) => pageErrors.push(String(e)))
const shot = (name) => page.screenshot({ path: path.join(cfg.artifacts, `bim-${scenario}-${name}.png`), fullPage: true })

async function signedIn(hash) {
  await context.addInitScript((key) => {
    localStorage.setItem('omnidrop.credential', JSON.stringify({ kind: 'key', secret: key, label: 'test key' }))
  }, cfg.key)
  await page.goto(`${cfg.base}/app/${hash}`)
}

// What the canvas shows, read back through a 2D canvas (the renderer keeps its drawing buffer):
// distinct colours, pixels that are not the background, highlighted (orange) pixels, and one
// model pixel nearest the centre, in page coordinates.
function canvasFacts() {
  return page.evaluate(() => {
    const gl = document.querySelector('#bim-stage canvas')
    const c = document.createElement('canvas')
    c.width = gl.width
    c.height = gl.height
    const g = c.getContext('2d')
    g.drawImage(gl, 0, 0)
    const px = g.getImageData(0, 0, c.width, c.height).data
    const bg = [px[0], px[1], px[2]]
    const colours = new Set()
    let model = 0
    let orange = 0
    let nearest = null
    const cx = c.width / 2
    const cy = c.height / 2
    for (let y = 0; y < c.height; y += 2) {
      for (let x = 0; x < c.width; x += 2) {
        const i = (y * c.width + x) * 4
        const [r, gr, b] = [px[i], px[i + 1], px[i + 2]]
        colours.add((r << 16) | (gr << 8) | b)
        if (Math.abs(r - bg[0]) + Math.abs(gr - bg[1]) + Math.abs(b - bg[2]) > 30) {
          model++
          const d = (x - cx) ** 2 + (y - cy) ** 2
          if (!nearest || d < nearest.d) nearest = { x, y, d }
        }
        if (r > 200 && gr > 60 && b < 60) orange++ // the highlight: saturated orange to yellow where lit
      }
    }
    const rect = gl.getBoundingClientRect()
    const scale = rect.width / c.width
    return { colours: colours.size, model, orange,
      click: nearest && { x: rect.left + nearest.x * scale, y: rect.top + nearest.y * scale } }
  })
}

const scenarios = {
  // Open a project's IFC file, check the drawing and the tree, select from the tree and from the view.
  async view() {
    await signedIn(`#/bim/${encodeURIComponent(cfg.project)}/${encodeURIComponent(cfg.file)}`)
    await page.locator('#bim-stage[data-loaded="true"]').waitFor()
    await page.waitForTimeout(300) // the first frame after the tree is laid out
    const drawn = await canvasFacts()
    const tree = await page.locator('#bim-tree li[role=treeitem]').evaluateAll((els) => els.map((e) => ({
      id: e.dataset.id, type: e.dataset.type, depth: (() => { let d = 0; for (let p = e.parentElement; p && p.id !== 'bim-tree'; p = p.parentElement) if (p.matches('li')) d++; return d })(),
      label: e.querySelector('.bim-node').textContent })))
    const facts = await page.locator('#bim-facts').textContent()
    await shot('loaded')

    // Select the wall in the tree: highlighted in the view, its property sets shown.
    await page.locator(`#bim-tree li[data-type="${cfg.pick_type}"] .bim-node`).first().click()
    await page.locator(`#bim-properties table[data-pset="${cfg.pick_pset}"]`).waitFor()
    await page.waitForTimeout(200)
    const picked = await canvasFacts()
    const fromTree = {
      selected: await page.locator('#bim-stage').getAttribute('data-selected'),
      name: await page.locator('#bim-selected-name').textContent(),
      pset: await page.locator(`#bim-properties table[data-pset="${cfg.pick_pset}"]`).evaluate((t) =>
        Object.fromEntries([...t.querySelectorAll('tr')].map((r) => [r.querySelector('th').textContent, r.querySelector('td').textContent]))),
      ariaSelected: await page.locator(`#bim-tree li[data-type="${cfg.pick_type}"]`).first().getAttribute('aria-selected'),
      orange: picked.orange,
    }
    await shot('tree-selected')

    // A storey highlights everything in it.
    await page.locator('#bim-tree li[data-type="IfcBuildingStorey"] .bim-node').first().click()
    await page.locator('#bim-selected-name', { hasText: cfg.storey }).waitFor()
    await page.waitForTimeout(200)
    const storey = { orange: (await canvasFacts()).orange, name: await page.locator('#bim-selected-name').textContent() }
    await shot('storey-selected')

    // Clear, then click the model in the view: an element is selected and its tree row marked.
    await page.click('#bim-clear')
    await page.waitForTimeout(200)
    const cleared = await canvasFacts()
    await page.mouse.click(drawn.click.x, drawn.click.y)
    await page.locator('#bim-properties h3').waitFor()
    const id = await page.locator('#bim-stage').getAttribute('data-selected')
    const fromView = {
      selected: id,
      name: await page.locator('#bim-selected-name').textContent(),
      treeSelected: await page.locator(`#bim-tree li[data-id="${id}"]`).getAttribute('aria-selected'),
      psets: await page.locator('#bim-properties table[data-pset]').evaluateAll((ts) => ts.map((t) => t.dataset.pset)),
    }
    await page.waitForTimeout(200)
    await shot('view-selected')
    return { drawn, tree, facts, fromTree, storey, cleared: cleared.orange, fromView }
  },

  // A converted model opened through the signed-URL form, for the benchmark: time to first view and memory.
  async firstView() {
    const q = new URLSearchParams({ model: cfg.model, tree: cfg.tree, properties: cfg.properties, title: 'bench' })
    await signedIn(`#/bim?${q}`)
    await page.locator('#bim-stage[data-loaded="true"]').waitFor({ timeout: cfg.timeout_ms ?? 300000 })
    const firstViewMs = Number(await page.locator('#bim-stage').getAttribute('data-first-view-ms'))
    const elements = Number(await page.locator('#bim-stage').getAttribute('data-elements'))
    const heap = await page.evaluate(() => performance.memory.usedJSHeapSize)
    await shot('first-view')
    return { firstViewMs, elements, heap }
  },

  // bench/bim/webifc.html: the same model parsed by web-ifc in the page.
  async webIfc() {
    await page.goto(`${cfg.base}/webifc.html?src=${encodeURIComponent(cfg.ifc)}`)
    await page.waitForFunction(() => window.result, null, { timeout: cfg.timeout_ms ?? 300000, polling: 200 })
    const result = await page.evaluate(() => window.result)
    await shot('first-view')
    return result
  },
}

let code = 0
try {
  const result = await scenarios[scenario]()
  console.log(JSON.stringify({ ok: true, ...result, pageErrors }))
} catch (err) {
  await shot('failure').catch(() => undefined)
  console.log(JSON.stringify({ ok: false, error: String(err?.stack ?? err), pageErrors }))
  code = 1
} finally {
  await browser.close()
}
process.exit(code)
