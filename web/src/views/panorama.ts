// A single panorama: #/panorama?src=<url>[&auth=1][&video=1][&title=…][&back=<hash>]. `auth` fetches the bytes with the
// signed-in credential (project files); signed URLs (frames) load directly.
import { blobUrl } from '../api'
import { h } from '../dom'
import type { View } from '../main'
import { sphere } from '../sphere'

export async function panoramaView(q: URLSearchParams): Promise<View> {
  const src = q.get('src')
  if (!src) throw new Error('no panorama given')
  const title = q.get('title') || 'Panorama'
  const url = q.get('auth') ? await blobUrl(src) : src
  const box = h('div', { class: 'sphere', id: 'panorama', role: 'application', 'aria-label': `360° view of ${title}. Arrow keys look around, plus and minus zoom.` })
  const el = h('section', { class: 'panorama' }, h('div', { class: 'titlebar' }, h('h1', {}, title), h('a', { href: (q.get('back') ?? '').startsWith('#/') ? q.get('back')! : 'javascript:history.back()' }, 'Back')), box)
  let s: ReturnType<typeof sphere> | null = null
  const mounted = () => {
    s = sphere(box, { url, caption: title, video: q.get('video') === '1' })
    s.viewer.addEventListener('panorama-loaded', () => box.setAttribute('data-loaded', 'true'))
  }
  return { el, mounted, destroy: () => { s?.destroy(); if (url.startsWith('blob:')) URL.revokeObjectURL(url) } }
}
