// One Direct Video upload group: #/videos/<uploadSessionId>. Its files with their roles, sizes, states
// and what verification read from each (codec, size, duration), the group's verification verdict, and a
// player for the main video: one <video> for the single-file layouts, the left and right eyes side by
// side (kept in step) for the Separate layout. Videos play from signed URLs (GET …/files/{id}/url),
// since a <video> element cannot send the key header.
import { bytes, videoApi } from '../api'
import { h, poll } from '../dom'
import type { View } from '../main'
import { stateKind, when } from './dashboard'

const FINAL = new Set(['completed', 'cancelled', 'expired'])
const VERIFY_FINAL = new Set(['verified', 'unverified', 'failed'])

/** What verification read from a file: {ok, checked, message?, info: {codec, width, height, fps, duration, …}}. */
function probeText(p: any): string {
  if (!p) return '–'
  const i = p.info ?? {}
  const parts = [p.ok === false ? 'problem' : p.checked === false ? 'accepted unchecked' : 'ok',
    i.codec ?? i.video_codec ?? i.format, i.width && i.height ? `${i.width}×${i.height}` : null,
    i.fps ? `${Number(i.fps).toFixed(2)} fps` : null, i.duration != null ? `${Number(i.duration).toFixed(1)} s` : null, p.message]
  return parts.filter(Boolean).join(' · ')
}

function eyesText(e: any): string {
  if (!e) return ''
  return e.match ? 'left and right eyes match (resolution, frame rate, duration)' : `left and right differ: ${(e.problems ?? []).join('; ')}`
}

export async function videoGroupView(id: string): Promise<View> {
  let alive = true
  let settled = false
  let played = ''
  const title = h('h1', {}, 'Video group')
  const facts = h('dl', { class: 'facts', id: 'group-facts' })
  const files = h('tbody', { id: 'group-files' })
  const verdict = h('div', { id: 'group-verification', 'aria-live': 'polite' })
  const player = h('div', { class: 'player', id: 'group-player' }, h('p', { class: 'muted' }, 'The player appears once the video is uploaded.'))
  const videos: HTMLVideoElement[] = []

  /** Separate layout: the right eye follows the left one's play, pause and seeks. */
  function linkEyes(left: HTMLVideoElement, right: HTMLVideoElement): void {
    left.addEventListener('play', () => void right.play().catch(() => undefined))
    left.addEventListener('pause', () => right.pause())
    left.addEventListener('seeked', () => { right.currentTime = left.currentTime })
    left.addEventListener('ratechange', () => { right.playbackRate = left.playbackRate })
    left.addEventListener('timeupdate', () => { if (Math.abs(right.currentTime - left.currentTime) > 0.3) right.currentTime = left.currentTime })
  }

  async function play(g: any): Promise<void> {
    const done = (role: string) => g.files.find((f: any) => f.role === role && f.status === 'completed')
    const eyes = g.layout === 'Separate' ? [done('video_left'), done('video_right')] : [done('video')]
    if (eyes.some((f) => !f)) return
    const key = eyes.map((f) => f.uploadId).join('+')
    if (key === played) return
    played = key
    const urls = await Promise.all(eyes.map((f) => videoApi(`/api/videos/uploads/${encodeURIComponent(id)}/files/${f.uploadId}/url`)))
    videos.splice(0)
    const figures = eyes.map((f, i) => {
      const v = h('video', { src: urls[i].url, controls: i === 0, muted: i > 0, preload: 'metadata', playsInline: true,
        id: eyes.length > 1 ? (i ? 'player-right' : 'player-left') : 'player-main', 'aria-label': `${f.role}: ${f.filename}` }) as HTMLVideoElement
      videos.push(v)
      return h('figure', {}, v, h('figcaption', {}, eyes.length > 1 ? `${i ? 'Right' : 'Left'} eye · ${f.filename}` : f.filename))
    })
    if (videos.length === 2) linkEyes(videos[0], videos[1])
    const vtt = g.files.find((f: any) => f.role === 'subtitle' && f.status === 'completed' && /\.vtt$/i.test(f.filename))
    if (vtt) { // WebVTT subtitles play along (the browser reads no other subtitle format)
      const t = await videoApi(`/api/videos/uploads/${encodeURIComponent(id)}/files/${vtt.uploadId}/url`)
      videos[0].append(h('track', { kind: 'subtitles', src: t.url, label: vtt.filename, default: true }))
    }
    player.className = `player ${eyes.length > 1 ? 'side-by-side' : ''}`
    player.replaceChildren(...figures)
    if (['SideBySide', 'OverUnder', 'MVHEVC'].includes(g.layout)) {
      player.append(h('p', { class: 'hint' }, `${g.layout}: both eyes are in this one file; the browser shows it as stored.`))
    }
  }

  async function refresh(): Promise<void> {
    const g = await videoApi(`/api/videos/uploads/${encodeURIComponent(id)}`)
    title.textContent = g.title || g.uploadSessionId
    const total = g.files.reduce((n: number, f: any) => n + f.size, 0)
    facts.replaceChildren(...([
      ['Status', h('span', { class: `status ${stateKind(g.status)}`, id: 'group-status' }, g.status)],
      ['Layout', g.layout], ['Files', `${g.files.length} · ${bytes(total)}`], ['Created', when(g.createdAt)],
      ['Completed', when(g.completedAt)], ['Expires', g.status === 'uploading' ? when(g.expiresAt) : null], ['Library id', g.libraryId],
    ] as [string, any][]).filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
    const order = ['video', 'video_left', 'video_right', 'audio', 'subtitle', 'aime', 'fcpxmld']
    const sorted = [...g.files].sort((a: any, b: any) => order.indexOf(a.role) - order.indexOf(b.role) || a.filename.localeCompare(b.filename))
    files.replaceChildren(...sorted.map((f: any) => h('tr', { 'data-role': f.role },
      h('td', {}, h('strong', {}, f.role)), h('td', {}, f.filename), h('td', { class: 'num' }, bytes(f.size)),
      h('td', {}, h('span', { class: `status ${stateKind(f.status)}` }, f.status)), h('td', { class: 'muted' }, probeText(f.probe)))))
    const v = g.verification
    verdict.replaceChildren(v
      ? h('div', {}, h('p', {}, h('span', { class: `status ${stateKind(v.status)}`, id: 'verification-status' }, v.status),
          v.code ? h('span', { class: 'muted mono' }, ` ${v.code}`) : null, v.verifiedAt ? [' · ', when(v.verifiedAt)] : null),
        v.message ? h('p', {}, v.message) : null,
        v.eyes ? h('p', { class: 'muted', id: 'verification-eyes' }, eyesText(v.eyes)) : null)
      : h('p', { class: 'muted' }, g.status === 'uploading' ? 'Verification starts once every file is uploaded.' : 'Not verified.'))
    await play(g)
    settled = FINAL.has(g.status) && (!v || VERIFY_FINAL.has(v.status))
  }

  poll(refresh, 4000, () => alive && !settled)
  const el = h('section', { class: 'video-group' },
    h('div', { class: 'titlebar' }, title, h('a', { href: '#/' }, 'Library')),
    h('p', { class: 'muted mono' }, id),
    h('div', { class: 'two' },
      h('section', { class: 'card', 'aria-labelledby': 'h-group' }, h('h2', { id: 'h-group' }, 'Group'), facts),
      h('section', { class: 'card', 'aria-labelledby': 'h-verify' }, h('h2', { id: 'h-verify' }, 'Verification'), verdict)),
    h('section', { class: 'card', 'aria-labelledby': 'h-player' }, h('h2', { id: 'h-player' }, 'Player'), player),
    h('section', { class: 'card', 'aria-labelledby': 'h-files' }, h('h2', { id: 'h-files' }, 'Files'),
      h('table', { class: 'files' }, h('thead', {}, h('tr', {}, ...['Role', 'File', 'Size', 'State', 'Verification read'].map((t) => h('th', { scope: 'col' }, t)))), files)))
  return { el, destroy: () => { alive = false; videos.forEach((v) => { v.pause(); v.removeAttribute('src'); v.load() }) } }
}
