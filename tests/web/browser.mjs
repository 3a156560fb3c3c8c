// One browser scenario against a live omnidrop, driven by tests/web/test_app.py:
//   node tests/web/browser.mjs <scenario> '<json config>'
// Debian's chromium through playwright-core (web/node_modules; no browser download). Prints one JSON
// line with what the page showed; exits 1 with the reason when a step fails. Screenshots go to
// config.artifacts.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../web/package.json'))
const { chromium } = require('playwright-core')

const [scenario, raw] = process.argv.slice(2)
const cfg = JSON.parse(raw)
const MiB = 1024 * 1024

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--enable-precise-memory-info', '--use-gl=swiftshader', '--enable-unsafe-swiftshader'],
})
const context = await browser.newContext({ viewport: cfg.phone ? { width: 390, height: 844 } : { width: 1280, height: 860 } })
const page = await context.newPage()
page.setDefaultTimeout(cfg.timeout_ms ?? 30000)
const consoleErrors = []
page.on('pageerror', (e) => consoleErrors.push(String(e)))
const notFound = [] // every 404 the pages asked for (the console shows each one)
page.on('response', (r) => { if (r.status() === 404) notFound.push(new URL(r.url()).pathname) })

const shot = (name) => page.screenshot({ path: path.join(cfg.artifacts, `${scenario}-${name}.png`), fullPage: true })

async function signedIn(hash = '#/') {
  // Scenarios after `signin` start signed in with the key, as the sign-in form leaves it.
  await context.addInitScript((key) => {
    if (!localStorage.getItem('omnidrop.credential')) localStorage.setItem('omnidrop.credential', JSON.stringify({ kind: 'key', secret: key, label: 'test key' }))
  }, cfg.key)
  await page.goto(`${cfg.base}/app/${hash}`)
}

async function captureStagePixels() {
  // What the capture page's canvas shows: pixels off its background (0x111318), the frustums' orange
  // (0xffb020, after colour management) and how many distinct colours (4 bits a channel).
  return page.evaluate(() => {
    const gl = document.querySelector('.capture-stage canvas')
    const c = document.createElement('canvas')
    c.width = gl.width
    c.height = gl.height
    const ctx = c.getContext('2d')
    ctx.drawImage(gl, 0, 0)
    const data = ctx.getImageData(0, 0, c.width, c.height).data
    let lit = 0
    let orange = 0
    const colours = new Set()
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]]
      if (Math.abs(r - 0x11) + Math.abs(g - 0x13) + Math.abs(b - 0x18) > 30) {
        lit++
        colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4))
      }
      if (r > 200 && g > 140 && r - b > 70) orange++
    }
    return { lit, orange, colours: colours.size, total: data.length / 4 }
  })
}

async function uploader({ multipartFromMiB = 100, tusChunkMiB = 50 } = {}) {
  await page.addInitScript((s) => localStorage.setItem('omnidrop.upload-settings', JSON.stringify(s)), { multipartFromMiB, tusChunkMiB })
  await signedIn('#/upload?target=project')
  await page.locator('.uppy-Dashboard').waitFor()
}

async function addFiles(files) {
  await page.locator('input.uppy-Dashboard-input[type=file]:not([webkitdirectory])').first().setInputFiles(files)
}

async function startUpload() {
  // The dashboard's own button: "Upload N files", or "Resume" after a restored session.
  await page.click('.uppy-StatusBar-actionBtn--upload')
}

async function projectLink() {
  const link = page.locator('#new-project-link')
  await link.waitFor({ timeout: cfg.upload_timeout_ms ?? 60000 })
  return (await link.textContent()).replace('Open project ', '').trim()
}

const scenarios = {
  async signin() {
    await page.goto(`${cfg.base}/app/`)
    await page.waitForURL(/#\/signin/)
    await page.fill('#api-key', 'sk_not_a_real_key')
    await page.click('form[aria-labelledby=key-title] button[type=submit]')
    await page.locator('#signin-error', { hasText: 'not accepted' }).waitFor()
    await page.fill('#api-key', cfg.key)
    await page.click('form[aria-labelledby=key-title] button[type=submit]')
    await page.locator(`#list-projects li[data-name="${cfg.expect_project}"]`).waitFor()
    const keyLists = await page.locator('#list-vehicles').textContent()
    await shot('key')
    await page.click('text=Sign out')
    await page.fill('#username', cfg.username)
    await page.fill('#password', 'wrong password')
    await page.click('form[aria-labelledby=login-title] button[type=submit]')
    await page.locator('#signin-error', { hasText: 'Wrong username or password' }).waitFor()
    await page.fill('#password', cfg.password)
    await page.click('form[aria-labelledby=login-title] button[type=submit]')
    await page.locator('#list-walkthroughs li', { hasText: cfg.expect_walkthrough }).waitFor()
    // A login token works on every surface: all five lists load (none says "Not available").
    await page.locator(`#list-projects li[data-name="${cfg.expect_project}"]`).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('.dashboard ul.list[aria-busy=false]').length === 5)
    const loginLists = await page.locator('.dashboard ul.list').allTextContents()
    const who = await page.locator('.who').textContent()
    await page.setViewportSize({ width: 390, height: 844 })
    await shot('login-phone')
    return { who, keyLists, loginLists }
  },

  async loginProject() {
    // A password user makes a project: sign in, "New project" upload, the project link appears.
    await page.addInitScript((s) => localStorage.setItem('omnidrop.upload-settings', JSON.stringify(s)), { multipartFromMiB: cfg.multipart_from_mib, tusChunkMiB: 50 })
    await page.goto(`${cfg.base}/app/`)
    await page.waitForURL(/#\/signin/)
    await page.fill('#username', cfg.username)
    await page.fill('#password', cfg.password)
    await page.click('form[aria-labelledby=login-title] button[type=submit]')
    await page.locator('#list-projects').waitFor()
    await page.goto(`${cfg.base}/app/#/upload?target=project`)
    await page.locator('.uppy-Dashboard').waitFor()
    await addFiles(cfg.files)
    await startUpload()
    const name = await projectLink()
    const log = await page.locator('#upload-log').textContent()
    await shot('done')
    await page.goto(`${cfg.base}/app/#/`)
    await page.locator(`#list-projects li[data-name="${name}"]`).waitFor()
    await shot('library')
    return { name, log, who: await page.locator('.who').textContent() }
  },

  async tus() {
    await uploader({ multipartFromMiB: 64 })
    await addFiles([cfg.file])
    await startUpload()
    const name = await projectLink()
    const log = await page.locator('#upload-log').textContent()
    await shot('done')
    await page.setViewportSize({ width: 390, height: 844 })
    await page.waitForTimeout(200)
    await shot('phone')
    return { name, log }
  },

  async multipart() {
    await uploader({ multipartFromMiB: 5 })
    const parts = []
    page.on('request', (r) => { if (r.method() === 'PUT' && r.url().includes('/_omnidrop/parts/')) parts.push(r.url()) })
    await addFiles([cfg.file])
    await startUpload()
    const name = await projectLink()
    const log = await page.locator('#upload-log').textContent()
    await shot('done')
    return { name, log, partPuts: parts.length }
  },

  async resume() {
    await uploader({ multipartFromMiB: 1024, tusChunkMiB: 1 })
    // Slow the PATCHes down so there is time to reload in the middle.
    await page.route('**/files/**', async (route) => {
      if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, 150))
      await route.continue()
    })
    let patches = 0
    page.on('requestfinished', (r) => { if (r.method() === 'PATCH') patches++ })
    await addFiles([cfg.file])
    await startUpload()
    while (patches < 5) await page.waitForTimeout(100)
    await shot('before-reload')
    const before = patches
    await page.reload()
    await page.locator('.uppy-Dashboard').waitFor()
    const offsets = []
    page.on('request', (r) => { if (r.method() === 'PATCH') offsets.push(Number(r.headers()['upload-offset'])) })
    // The restored "ghost" wants its bytes back: re-select the same file, as the dashboard asks.
    await page.locator('text=Session restored').waitFor()
    await page.click('button.uppy-DashboardContent-addMore')
    await addFiles([cfg.file])
    await startUpload()
    const name = await projectLink()
    const log = await page.locator('#upload-log').textContent()
    await shot('done')
    return { name, log, patchesBeforeReload: before, offsetsAfterReload: offsets }
  },

  async spin() {
    await signedIn(`#/vehicle/${cfg.vehicle}`)
    const stage = page.locator('#spin')
    await stage.waitFor()
    const frame = page.locator('#spin .spin-frame')
    await page.waitForFunction(() => document.querySelector('#spin .spin-frame')?.complete)
    const first = await frame.getAttribute('data-index')
    const firstSrc = await frame.getAttribute('src')
    await shot('start')
    const box = await stage.boundingBox()
    // Dragging left by 3 × 8 px turns the car 3 frames on.
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.6 - 24, box.y + box.height / 2, { steps: 6 })
    await page.mouse.up()
    const dragged = await frame.getAttribute('data-index')
    const draggedSrc = await frame.getAttribute('src')
    const counter = await page.locator('#spin-counter').textContent()
    await stage.focus()
    await page.keyboard.press('ArrowRight')
    const keyed = await frame.getAttribute('data-index')
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await page.mouse.wheel(0, -400)
    const zoomed = await page.locator('#spin-counter').textContent()
    // Zoomed in, a drag pans the picture and does not turn it.
    const beforePan = { index: await frame.getAttribute('data-index'), pan: await stage.getAttribute('data-pan') }
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 30, { steps: 5 })
    await page.mouse.up()
    const afterPan = { index: await frame.getAttribute('data-index'), pan: await stage.getAttribute('data-pan') }
    await shot('zoomed')
    // The scrubber turns to any frame; fullscreen fills the screen with the viewer.
    await page.locator('#spin-scrubber').fill('2')
    const scrubbed = await frame.getAttribute('data-index')
    await page.click('#spin-fullscreen')
    await page.waitForFunction(() => document.fullscreenElement?.classList.contains('spin'))
    const fullscreen = await page.evaluate(() => ({ w: document.querySelector('#spin').clientWidth, screen: innerWidth }))
    await shot('fullscreen')
    await page.click('#spin-fullscreen')
    await page.waitForFunction(() => !document.fullscreenElement)
    await stage.focus()
    await page.keyboard.press('0')
    await page.keyboard.press('Home')
    await page.click('#mask-toggle')
    const maskShown = await page.locator('#spin .spin-mask').isVisible()
    const maskSrc = await page.locator('#spin .spin-mask').getAttribute('src')
    await page.waitForFunction(() => document.querySelector('#spin .spin-mask')?.complete)
    await shot('masks')
    await page.setViewportSize({ width: 390, height: 844 })
    await page.waitForTimeout(200)
    await shot('phone')
    return { first, firstSrc, dragged, draggedSrc, counter, keyed, zoomed, maskShown, maskSrc, beforePan, afterPan, scrubbed, fullscreen, notFound }
  },

  async panorama() {
    await signedIn(`#/project/${cfg.project}`)
    const link = page.locator(`[data-file="${cfg.filename}"] a`, { hasText: 'Panorama' })
    await link.waitFor()
    const thumbOk = await page.waitForFunction((n) => {
      const img = document.querySelector(`[data-file="${n}"] img.thumb`)
      return img && img.complete && img.naturalWidth > 0
    }, cfg.filename).then(() => true)
    await shot('project')
    await link.click()
    await page.locator('#panorama[data-loaded=true]').waitFor()
    const canvas = await page.locator('#panorama canvas').count()
    const before = await page.evaluate(() => document.querySelector('#panorama canvas').toDataURL().length)
    await page.locator('#panorama').focus()
    await page.keyboard.press('ArrowRight')
    await page.waitForTimeout(300)
    await shot('viewer')
    let video = null
    if (cfg.video_project) {
      // A 360 video in a project plays in the viewer (equirectangular video adapter + video plugin).
      await page.goto(`${cfg.base}/app/#/project/${cfg.video_project}`)
      await page.locator(`[data-file="${cfg.video_filename}"] a`, { hasText: 'Play 360 video' }).click()
      await page.locator('#panorama[data-loaded=true]').waitFor()
      const time = page.locator('#panorama .psv-video-time')
      await page.waitForFunction(() => /\/ 0:0[1-9]/.test(document.querySelector('#panorama .psv-video-time')?.textContent ?? ''))
      const before = await time.textContent()
      await page.locator('#panorama .psv-video-play-button').first().click() // the navbar's play button
      await page.waitForFunction(() => !document.querySelector('#panorama .psv-video-time')?.textContent.startsWith('0:00'), null, { timeout: 15000 })
      video = { before, playing: await time.textContent() }
      await shot('video')
    }
    return { thumbOk, canvas, before, video }
  },

  async capture3d() {
    // A shared capture opens without signing in: the sparse cloud and the camera frustums draw.
    await page.goto(`${cfg.base}/app/#/capture/${cfg.sid}`)
    const stage = page.locator('.capture-stage[data-points]')
    await stage.waitFor()
    await page.waitForTimeout(500) // a few animation frames after the cloud arrived
    await shot('viewer')
    const el = page.locator('.capture-stage')
    return {
      points: Number(await el.getAttribute('data-points')), cameras: Number(await el.getAttribute('data-cameras')),
      facts: await page.locator('.capture3d .facts').textContent(), splat: await page.locator('.splat-state').textContent(),
      signedIn: await page.evaluate(() => localStorage.getItem('omnidrop.credential') !== null), ...(await captureStagePixels()),
    }
  },

  async captureSplat() {
    // A shared capture with a trained splat opens on the splat (Spark); the button switches to the sparse
    // cloud and the cameras, and back.
    await page.goto(`${cfg.base}/app/#/capture/${cfg.sid}`)
    const el = page.locator('.capture-stage')
    await page.locator('.capture-stage[data-splats]').waitFor()
    await page.waitForTimeout(1500) // Spark sorts and uploads the splats over a few frames
    await shot('splat')
    const splat = { splats: Number(await el.getAttribute('data-splats')), view: await el.getAttribute('data-view'),
      status: await page.locator('.capture-status').textContent(), splatLine: await page.locator('.splat-state').textContent(),
      button: await page.locator('#capture-view-toggle').textContent(), ...(await captureStagePixels()) }
    await page.click('#capture-view-toggle')
    await page.locator('.capture-stage[data-points]').waitFor()
    await page.waitForTimeout(500)
    await shot('cloud')
    const cloud = { points: Number(await el.getAttribute('data-points')), cameras: Number(await el.getAttribute('data-cameras')),
      view: await el.getAttribute('data-view'), canvases: await page.locator('.capture-stage canvas').count(),
      button: await page.locator('#capture-view-toggle').textContent(), ...(await captureStagePixels()) }
    await page.click('#capture-view-toggle')
    await page.locator('.capture-stage[data-splats]').waitFor()
    await page.waitForTimeout(1500)
    const again = { splats: Number(await el.getAttribute('data-splats')), canvases: await page.locator('.capture-stage canvas').count(),
      ...(await captureStagePixels()) }
    return { splat, cloud, again, signedIn: await page.evaluate(() => localStorage.getItem('omnidrop.credential') !== null) }
  },

  async projectTour() {
    // The owner's project page: files with kind, state and per-file error, the tour, sharing.
    page.on('dialog', (d) => d.accept())
    await signedIn(`#/project/${cfg.project}`)
    await page.locator('#project-files [data-file="a.jpg"]').waitFor()
    await page.waitForFunction(() => [...document.querySelectorAll('#project-files img.thumb')].every((i) => i.complete && i.naturalWidth > 0))
    const failedNote = await page.locator('#failed-files').textContent()
    const fileError = await page.locator(`[data-file="${cfg.broken}"] .file-error`).textContent()
    const cards = await page.locator('#project-files li').evaluateAll((els) => els.map((e) => ({ name: e.dataset.file, state: e.dataset.state, text: e.textContent })))
    await page.locator('#share-create').click()
    const field = page.locator('#share-list li.active input.share-url').first()
    await field.waitFor()
    const shareUrl = await field.inputValue()
    await shot('project')
    // The tour: first node, then the gallery's second item moves to the next node.
    await page.click('#open-tour')
    await page.locator('#tour[data-loaded="n1"]').waitFor()
    await page.waitForTimeout(300)
    await page.locator('#tour').screenshot({ path: path.join(cfg.artifacts, 'projectTour-node1.png') })
    await shot('tour')
    const gallery = await page.locator('#tour .psv-gallery-item').count()
    const planShown = await page.locator('#tour .psv-map').count()
    await page.locator('#tour .psv-gallery-item[data-psv-gallery-item="n2"]').click()
    await page.locator('#tour[data-loaded="n2"]').waitFor()
    await page.waitForTimeout(300)
    await page.locator('#tour').screenshot({ path: path.join(cfg.artifacts, 'projectTour-node2.png') })
    const counter = await page.locator('#tour-node').textContent()
    const caption = await page.locator('#tour .psv-caption-content').textContent()
    // Anyone with the link, in a browser with no credential at all.
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 860 } })
    const anon = await stranger.newPage()
    anon.on('pageerror', (e) => consoleErrors.push(String(e)))
    await anon.goto(shareUrl)
    await anon.locator('#project-files [data-file="a.jpg"]').waitFor()
    await anon.waitForFunction(() => [...document.querySelectorAll('#project-files img.thumb')].every((i) => i.complete && i.naturalWidth > 0))
    const sharedNav = await anon.locator('#nav').textContent()
    const sharedBadge = await anon.locator('.badge').textContent()
    const sharedShareButtons = await anon.locator('#project-files button', { hasText: 'Share' }).count()
    const anonStorage = await anon.evaluate(() => localStorage.getItem('omnidrop.credential'))
    await anon.screenshot({ path: path.join(cfg.artifacts, 'projectTour-shared.png'), fullPage: true })
    // A file's viewer through the link (the viewer table's route, share= form).
    await anon.locator('[data-file="a.jpg"] a', { hasText: 'Panorama' }).click()
    await anon.locator('#panorama[data-loaded=true]').waitFor()
    const sharedViewerHash = await anon.evaluate(() => location.hash)
    await anon.click('text=Back')
    await anon.locator('#open-tour').waitFor()
    let sharedBim = null
    if (cfg.ifc) {
      // The BIM viewer through the link: the table's `bim` row, fed the shared asset URLs.
      await anon.locator(`[data-file="${cfg.ifc}"] a`, { hasText: 'BIM model' }).click()
      await anon.locator('#bim-stage[data-loaded="true"]').waitFor()
      await anon.waitForTimeout(300)
      sharedBim = { hash: await anon.evaluate(() => location.hash), tree: await anon.locator('#bim-tree li').count() }
      await anon.screenshot({ path: path.join(cfg.artifacts, 'projectTour-shared-bim.png'), fullPage: true })
      await anon.goBack()
      await anon.locator('#open-tour').waitFor()
    }
    await anon.click('#open-tour')
    await anon.locator('#tour[data-loaded="n1"]').waitFor()
    await anon.locator('#tour .psv-gallery-item[data-psv-gallery-item="n3"]').click()
    await anon.locator('#tour[data-loaded="n3"]').waitFor()
    await anon.waitForTimeout(300)
    await anon.screenshot({ path: path.join(cfg.artifacts, 'projectTour-shared-tour.png'), fullPage: true })
    // The owner revokes it; the stranger's next visit is refused.
    await page.goto(`${cfg.base}/app/#/project/${cfg.project}`)
    await page.locator('#share-list li.active button', { hasText: 'Revoke' }).first().click()
    await page.locator('#share-list li.inactive').first().waitFor()
    await page.waitForFunction(() => !document.querySelector('#share-list li.active'))
    await anon.goto('about:blank')
    await anon.goto(shareUrl)
    const refused = anon.locator('#project-state.error')
    await refused.waitFor()
    const revokedText = await refused.textContent()
    await anon.screenshot({ path: path.join(cfg.artifacts, 'projectTour-revoked.png'), fullPage: true })
    await stranger.close()
    return { failedNote, fileError, cards, shareUrl, sharedViewerHash, sharedBim, gallery, planShown, counter, caption, sharedNav, sharedBadge, sharedShareButtons, anonStorage, revokedText }
  },

  async walkthrough() {
    // Until GET /360/{id}/points is served (wt/walkthrough), the test may hand the page contract-shaped points.
    if (cfg.points) {
      await page.route(`**/360/${cfg.upload}/points`, (route) => route.fulfill({ json: cfg.points }))
    }
    let uploadLog = null
    if (cfg.insv) {
      // The walkthrough target of the uploader: the .insv over tus, then step 5 with the positions.
      await signedIn('#/upload?target=walkthrough')
      await page.selectOption('#wt-project', cfg.project)
      await page.selectOption('#wt-upload', String(cfg.upload))
      await page.fill('#wt-start', cfg.start)
      await page.fill('#wt-end', cfg.end)
      await page.fill('#wt-points', String(cfg.target_points))
      await addFiles([cfg.insv])
      await startUpload()
      await page.locator('#upload-log li', { hasText: 'video(s) linked' }).waitFor({ timeout: 60000 })
      uploadLog = await page.locator('#upload-log').textContent()
      await shot('uploaded')
      await page.click('text=Open the walkthrough')
    } else {
      await signedIn(`#/walkthrough/${cfg.upload}`)
    }
    await page.locator('#plan .point').first().waitFor({ timeout: 90000 })
    await page.waitForFunction(() => document.querySelector('#plan img')?.naturalWidth > 0)
    const count = await page.locator('#plan .point').count()
    const positions = await page.locator('#plan .point').evaluateAll((els) => els.map((e) => [e.style.left, e.style.top]))
    await shot('plan')
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.locator('#plan .point').nth(1).click()
    await page.locator('#walkthrough-panorama[data-loaded="1"]').waitFor()
    // The panorama opens over the page (a modal dialog), wholly inside the viewport: nothing below the fold.
    const overlay = await page.evaluate(() => {
      const d = document.querySelector('#pano-dialog')
      const r = document.querySelector('#walkthrough-panorama').getBoundingClientRect()
      return { open: d.open, modal: d.matches(':modal'), inView: r.top >= 0 && r.bottom <= innerHeight && r.height > 200 }
    })
    const caption1 = await page.locator('#point-caption').textContent()
    await page.click('#point-next')
    await page.locator('#walkthrough-panorama[data-loaded="2"]').waitFor()
    const caption2 = await page.locator('#point-caption').textContent()
    const current = await page.locator('#plan .point[aria-current=true]').textContent()
    await shot('panorama')
    await page.keyboard.press('Escape')
    const closed = await page.evaluate(() => !document.querySelector('#pano-dialog').open)
    const status = await page.locator('#walkthrough-status').textContent()
    return { count, positions, caption1, caption2, current, status, uploadLog, overlay, closed }
  },

  async targets() {
    // The vehicle target (the Vehicles API's form upload) and the capture target (the Captures API's parts).
    await signedIn('#/upload?target=vehicle')
    await page.locator('.uppy-Dashboard').waitFor()
    await page.fill('#vehicle-name', cfg.vehicle_name)
    await page.selectOption('#side', 'INSIDE')
    await addFiles([cfg.video])
    await startUpload()
    await page.locator('#upload-log li', { hasText: 'frames job' }).waitFor()
    const vehicleLog = await page.locator('#upload-log').textContent()
    await shot('vehicle')
    await page.selectOption('#target', 'capture')
    await page.locator('#capture-format').waitFor()
    await page.selectOption('#capture-format', 'bulk-images')
    await addFiles([cfg.capture])
    await startUpload()
    await page.locator('#upload-log li', { hasText: 'queued for processing' }).waitFor({ timeout: 60000 })
    const captureLog = await page.locator('#upload-log').textContent()
    await shot('capture')
    return { vehicleLog, captureLog }
  },

  async uploaderUx() {
    // An empty uploader after a reload says nothing about restored uploads and shows no Resume.
    await signedIn('#/upload?target=project')
    await page.locator('.uppy-Dashboard').waitFor()
    await page.reload()
    await page.locator('.uppy-Dashboard').waitFor()
    await page.waitForTimeout(500)
    const emptyText = await page.locator('main').textContent()
    const emptyResume = await page.locator('#resume-uploads').count()
    // The developer settings are behind a closed "Advanced" disclosure.
    const advancedOpen = await page.locator('#advanced').evaluate((d) => d.open)
    const chunkVisible = await page.locator('#tus-chunk').isVisible()
    await shot('empty')
    await page.click('#advanced summary')
    const chunkAfterOpen = await page.locator('#tus-chunk').isVisible()
    await shot('advanced')
    await page.click('#advanced summary')
    // The title survives a reload; an upload interrupted by a reload comes back with a Resume button.
    await page.fill('#project-title', cfg.title)
    await page.locator('#tus-chunk').evaluate((el) => { el.value = '1'; el.dispatchEvent(new Event('change')) })
    await page.locator('#project-title').waitFor()
    await page.route('**/files/**', async (route) => {
      if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, 300))
      await route.continue()
    })
    let patches = 0
    page.on('requestfinished', (r) => { if (r.method() === 'PATCH') patches++ })
    await addFiles([cfg.file])
    await startUpload()
    for (let i = 0; patches < 2; i++) {
      if (i > 300) throw new Error(`upload did not start: ${patches} PATCHes; ${await page.locator('main').textContent()}`)
      await page.waitForTimeout(50)
    }
    await page.waitForTimeout(600) // Golden Retriever writes its state at most every 500 ms
    await page.reload()
    await page.locator('.uppy-Dashboard').waitFor()
    const titleAfterReload = await page.locator('#project-title').inputValue()
    await page.locator('#resume-uploads').waitFor()
    const resumeText = await page.locator('#resume-text').textContent()
    const resumeEnabled = [await page.locator('#resume-uploads').isEnabled()]
    await shot('restored')
    if (!resumeEnabled[0]) { // a ghost: give it its bytes back
      await page.click('button.uppy-DashboardContent-addMore')
      await addFiles([cfg.file])
    }
    await page.waitForFunction(() => !document.querySelector('#resume-uploads').disabled)
    resumeEnabled.push(await page.locator('#resume-uploads').isEnabled())
    const offsets = []
    page.on('request', (r) => { if (r.method() === 'PATCH') offsets.push(Number(r.headers()['upload-offset'])) })
    await page.click('#resume-uploads')
    const link = page.locator('#new-project-link')
    await link.waitFor({ timeout: 60000 })
    const name = await link.getAttribute('data-name')
    const log = await page.locator('#upload-log').textContent()
    await shot('resumed')
    return { emptyText, emptyResume, advancedOpen, chunkVisible, chunkAfterOpen, titleAfterReload, resumeText, resumeEnabled, name, log, offsets }
  },

  async library() {
    await signedIn('#/')
    await page.locator(`#list-projects li[data-name="${cfg.ready}"]`).waitFor()
    const ready = page.locator(`#list-projects li[data-name="${cfg.ready}"]`)
    const readyRow = { text: await ready.textContent(), bars: await ready.locator('progress').count(), time: await ready.locator('time').count() }
    await shot('all')
    await page.fill('#library-search', cfg.search)
    await page.waitForFunction((q) => [...document.querySelectorAll('#list-projects li[data-name]')].every((li) => li.textContent.includes(q)) &&
      document.querySelectorAll('#list-projects li[data-name]').length > 0, cfg.search)
    await page.locator('#projects-next:not([hidden])').waitFor()
    const firstPage = await page.locator('#list-projects li[data-name]').count()
    const range1 = await page.locator('#projects-page').textContent()
    await shot('search')
    await page.click('#projects-next')
    await page.waitForFunction(() => document.querySelector('#projects-page').textContent.startsWith('21'))
    const secondPage = await page.locator('#list-projects li[data-name]').allTextContents()
    const prevShown = await page.locator('#projects-prev').isVisible()
    await shot('page2')
    await page.fill('#library-search', 'no-such-thing-anywhere')
    await page.locator('#list-projects li.empty').waitFor()
    const empty = await page.locator('#list-projects').textContent()
    await page.setViewportSize({ width: 390, height: 844 })
    await page.fill('#library-search', '')
    await page.locator(`#list-projects li[data-name="${cfg.ready}"]`).waitFor()
    await shot('phone')
    return { readyRow, firstPage, range1, secondPage, prevShown, empty, notFound }
  },

  async walkthroughAdmin() {
    await signedIn('#/walkthroughs')
    await page.locator('#new-project').waitFor()
    await page.fill('#new-project-name', cfg.name)
    await page.click('#new-project button[type=submit]')
    const panel = page.locator(`details.wt-project[data-project="${cfg.id}"]`)
    await panel.waitFor()
    const form = panel.locator('form.drawing-form')
    await form.waitFor() // a project without drawings shows the form open
    await form.locator('input[id^=dr-name]').fill('Ground floor')
    await form.locator('input[name=north]').fill('52.001')
    await form.locator('input[name=south]').fill('52.000')
    await form.locator('input[name=west]').fill('4.000')
    await form.locator('input[name=east]').fill('4.002')
    await form.locator('input[type=file]').setInputFiles(cfg.image)
    await form.locator('button[type=submit]').click()
    await page.locator('#wt-message', { hasText: 'Drawing Ground floor added with its image' }).waitFor()
    const drawing = page.locator(`details.wt-project[data-project="${cfg.id}"] li.drawing`)
    await drawing.waitFor()
    await page.waitForFunction(() => document.querySelector('li.drawing img')?.naturalWidth > 0)
    await shot('drawing')
    await page.click(`details.wt-project[data-project="${cfg.id}"] a:has-text("Upload a walkthrough video")`)
    await page.locator('#wt-project').waitFor()
    await page.waitForFunction(() => document.querySelector('#wt-drawing')?.options.length > 0)
    const chosen = { project: await page.locator('#wt-project').inputValue(), drawing: await page.locator('#wt-drawing option').first().textContent() }
    await shot('upload-target')
    return { message: await page.locator('#upload-log').textContent(), chosen }
  },

  async frames() {
    await signedIn(`#/project/${cfg.project}`)
    const link = page.locator(`[data-file="${cfg.filename}"] a`, { hasText: 'Frames (' })
    await link.waitFor()
    const label = await link.textContent()
    await link.click()
    await page.locator('#frame-stage[data-loaded="0"]').waitFor()
    await page.waitForFunction((n) => [...document.querySelectorAll('#filmstrip img')].filter((i) => i.naturalWidth > 0).length === n, cfg.count)
    const thumbs = await page.locator('#filmstrip .frame-thumb').count()
    await shot('first')
    await page.locator('#filmstrip .frame-thumb').nth(2).click()
    await page.locator('#frame-stage[data-loaded="2"]').waitFor()
    const third = await page.locator('#frame-counter').textContent()
    await page.locator('#frame-scrubber').fill(String(cfg.count))
    await page.locator(`#frame-stage[data-loaded="${cfg.count - 1}"]`).waitFor()
    const last = await page.locator('#frame-counter').textContent()
    const current = await page.locator('#filmstrip [aria-current=true]').getAttribute('data-i')
    await page.click('#frame-prev')
    await page.locator(`#frame-stage[data-loaded="${cfg.count - 2}"]`).waitFor()
    const hash = await page.evaluate(() => location.hash)
    await shot('scrubbed')
    return { label, thumbs, third, last, current, hash }
  },

  async vehicleNoMasks() {
    await signedIn(`#/vehicle/${cfg.vehicle}`)
    await page.locator('#spin .spin-frame').waitFor()
    await page.waitForFunction(() => document.querySelector('#spin .spin-frame')?.complete)
    await page.waitForTimeout(4500) // one more poll of the vehicle: still no mask request
    const button = await page.locator('#mask-toggle').textContent()
    const disabled = await page.locator('#mask-toggle').isDisabled()
    await shot('no-masks')
    return { button, disabled, notFound }
  },

  async capture() {
    await signedIn('#/')
    const link = page.locator(`#list-captures li[data-eid="${cfg.eid}"] a`)
    await link.waitFor()
    await link.click()
    await page.locator('#capture-state', { hasText: 'FINISHED' }).waitFor({ timeout: 60000 })
    await page.waitForFunction(() => ['#capture-preview', '#capture-gif'].every((s) => document.querySelector(s)?.naturalWidth > 0))
    await page.waitForFunction(() => document.querySelector('#capture-frame')?.naturalWidth > 0)
    const frames = await page.locator('#capture-frames .frame-thumb').count()
    await page.locator('#capture-frames .frame-thumb').nth(1).click()
    await page.waitForFunction(() => document.querySelector('#capture-frame').alt.startsWith('Frame 2'))
    const slot = { models: await page.locator('#capture-3d').getAttribute('data-models'), text: await page.locator('#capture-3d').textContent() }
    await shot('page')
    const facts = await page.locator('#capture-facts').textContent()
    // Sharing: public with its link; the owner makes it private (no link), then public again.
    const shareUrl = await page.locator('#capture-share-url').getAttribute('href')
    await page.locator('#capture-share-toggle').click()
    await page.locator('#capture-visibility', { hasText: 'Private' }).waitFor()
    const privateLink = await page.locator('#capture-share-url').count()
    const privateButton = await page.locator('#capture-share-toggle').textContent()
    await shot('private')
    await page.locator('#capture-share-toggle').click()
    await page.locator('#capture-visibility', { hasText: 'Public' }).waitFor()
    const publicAgain = await page.locator('#capture-share-url').getAttribute('href')
    return { frames, slot, facts, shareUrl, privateLink, privateButton, publicAgain }
  },

  async videoGroup() {
    await signedIn('#/')
    const link = page.locator(`#list-videos li[data-group="${cfg.group}"] a`)
    await link.waitFor()
    await link.click()
    await page.locator('#verification-status', { hasText: 'verified' }).waitFor({ timeout: 60000 })
    await page.waitForFunction(() => ['#player-left', '#player-right'].every((s) => document.querySelector(s)?.readyState >= 1))
    const durations = await page.evaluate(() => ['#player-left', '#player-right'].map((s) => document.querySelector(s).duration))
    const sideBySide = await page.evaluate(() => {
      const [a, b] = ['#player-left', '#player-right'].map((s) => document.querySelector(s).getBoundingClientRect())
      return Math.abs(a.top - b.top) < 2 && b.left > a.right - 1
    })
    await page.evaluate(() => { const v = document.querySelector('#player-left'); v.currentTime = 1.0 })
    await page.waitForFunction(() => Math.abs(document.querySelector('#player-right').currentTime - 1.0) < 0.2)
    const roles = await page.locator('#group-files tr').evaluateAll((rows) => rows.map((r) => [r.dataset.role, r.textContent]))
    const eyes = await page.locator('#verification-eyes').textContent()
    await shot('page')
    await page.setViewportSize({ width: 390, height: 844 })
    await page.waitForTimeout(200)
    await shot('phone')
    return { durations, sideBySide, roles, eyes }
  },

  async big() {
    await uploader({ multipartFromMiB: 1 << 20, tusChunkMiB: 64 })
    const cdp = await context.newCDPSession(page)
    const heap = async () => (await cdp.send('Runtime.getHeapUsage')).usedSize
    await cdp.send('HeapProfiler.collectGarbage')
    const baseline = await heap()
    await addFiles([cfg.file])
    const afterSelect = await heap()
    await startUpload()
    const samples = []
    let done = false
    const linkWait = projectLink().then((n) => { done = true; return n })
    while (!done) {
      samples.push(await heap())
      await page.waitForTimeout(500)
    }
    const name = await linkWait
    await cdp.send('HeapProfiler.collectGarbage')
    const after = await heap()
    const pm = await page.evaluate(() => performance.memory && { used: performance.memory.usedJSHeapSize, total: performance.memory.totalJSHeapSize })
    await shot('done')
    return { name, baseline, afterSelect, peak: Math.max(...samples, afterSelect), after, samples: samples.length, performanceMemory: pm }
  },
}

let code = 0
try {
  const result = await scenarios[scenario]()
  console.log(JSON.stringify({ ok: true, ...result, pageErrors: consoleErrors }))
} catch (err) {
  await shot('failure').catch(() => undefined)
  console.log(JSON.stringify({ ok: false, error: String(err?.stack ?? err), pageErrors: consoleErrors }))
  code = 1
} finally {
  await browser.close()
}
process.exit(code)
