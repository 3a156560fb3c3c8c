// /docs in headless chromium with every request to another origin blocked and recorded, driven by
// tests/openapi/test_docs_page.py:  node tests/web/docs_page.mjs '<json config>'
// Prints one JSON line: the operations and groups Swagger UI rendered, the security schemes its
// Authorize dialog offers, external requests attempted, page errors. Screenshots go to config.artifacts.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../web/package.json'))
const { chromium } = require('playwright-core')

const cfg = JSON.parse(process.argv[2])
const result = { ok: false, external: [], pageErrors: [] }
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
})
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.setDefaultTimeout(cfg.timeout_ms ?? 30000)
  page.on('pageerror', (e) => result.pageErrors.push(String(e)))
  const origin = new URL(cfg.base).origin
  // Offline: anything that is not the server itself fails, as it would without a network.
  await page.route('**/*', (route) => {
    const url = route.request().url()
    if (new URL(url).origin === origin) return route.continue()
    result.external.push(url)
    return route.abort('internetdisconnected')
  })
  await page.goto(`${cfg.base}/docs`)
  await page.locator('.opblock').first().waitFor()
  result.title = await page.locator('.info .title').innerText()
  result.operations = await page.locator('.opblock .opblock-summary-path').allInnerTexts()
  result.methods = await page.locator('.opblock .opblock-summary-method').allInnerTexts()
  result.groups = await page.locator('h3.opblock-tag').evaluateAll((els) => els.map((e) => e.dataset.tag))
  await page.screenshot({ path: path.join(cfg.artifacts, 'docs.png') })
  await page.screenshot({ path: path.join(cfg.artifacts, 'docs-full.png'), fullPage: true })
  await page.click('button.authorize')
  await page.locator('.auth-container').first().waitFor()
  result.schemes = await page.locator('.auth-container h4').allInnerTexts()
  await page.screenshot({ path: path.join(cfg.artifacts, 'docs-authorize.png') })
  await page.keyboard.press('Escape')
  // Open one operation: its parameters and documented answers render from the document.
  await page.click('#operations-file_upload-uploads_put_upload_file .opblock-summary')
  const put = page.locator('#operations-file_upload-uploads_put_upload_file')
  await put.locator('.parameters').waitFor()
  result.putParameters = await put.locator('.parameters .parameter__name').allInnerTexts()
  result.putStatuses = await put.locator('.responses-table tr.response .response-col_status').allInnerTexts()
  await put.screenshot({ path: path.join(cfg.artifacts, 'docs-put-upload.png') })
  result.ok = true
} catch (e) {
  result.error = String(e)
} finally {
  await browser.close()
  console.log(JSON.stringify(result))
}
