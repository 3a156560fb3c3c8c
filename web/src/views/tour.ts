// A project's 360 virtual tour: Photo Sphere Viewer's virtual-tour plugin over the tour the project
// job built (GET …/tour): every panorama a node, links as arrows placed by the server's yaw, the
// gallery plugin listing all nodes, and, when the nodes are placed (GPS or scan positions), the map
// plugin over a plan drawn here from the node positions (no map tiles: nothing here may reach the
// internet). #/tour/<name> for the owner, #/share/<token>/tour for a share link.
import { Viewer } from '@photo-sphere-viewer/core'
import { GalleryPlugin } from '@photo-sphere-viewer/gallery-plugin'
import { MapPlugin } from '@photo-sphere-viewer/map-plugin'
import { VirtualTourPlugin, type VirtualTourNode } from '@photo-sphere-viewer/virtual-tour-plugin'
import '@photo-sphere-viewer/core/index.css'
import '@photo-sphere-viewer/gallery-plugin/index.css'
import '@photo-sphere-viewer/map-plugin/index.css'
import '@photo-sphere-viewer/virtual-tour-plugin/index.css'
import { announce, h } from '../dom'
import type { View } from '../main'
import { ownerSource, shareSource, type Source } from '../projectsource'

type TourLink = { node: string; yaw: number; distance?: number }
type TourNode = { id: string; file: string; name: string; panorama: string; thumbnail: string; links: TourLink[]; position?: [number, number]; gps?: { lat: number; lng: number; alt?: number }; taken_at?: string }
type Tour = { ordered_by: string; gps: boolean; start: string; nodes: TourNode[] }

const PLAN = 600 // px, the plan image's side

/** PSV puts names and captions into HTML: file names are the uploader's, so escape them. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
const PAD = 60

/** A plan of the placed nodes: a metre grid, the links as lines, the nodes as numbered dots. */
export function planOf(nodes: TourNode[]): { url: string; at: Map<string, { x: number; y: number }> } | null {
  const placed = nodes.filter((n) => n.position)
  if (placed.length < 2) return null
  const xs = placed.map((n) => n.position![0])
  const ys = placed.map((n) => n.position![1])
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)]
  const span = Math.max(maxX - minX, maxY - minY, 1)
  const scale = (PLAN - 2 * PAD) / span
  const cx = (minX + maxX) / 2
  const cy = (minY + maxY) / 2
  const at = new Map<string, { x: number; y: number }>()
  for (const n of placed) at.set(n.id, { x: PLAN / 2 + (n.position![0] - cx) * scale, y: PLAN / 2 - (n.position![1] - cy) * scale }) // north up
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((m) => m * scale >= 60) ?? 10000
  const grid: string[] = []
  for (let g = 0; g <= PLAN; g += step * scale) grid.push(`<path d="M${g} 0V${PLAN}M0 ${g}H${PLAN}" stroke="#d5dbe3" stroke-width="1"/>`)
  const lines: string[] = []
  for (const n of placed) for (const l of n.links) {
    const a = at.get(n.id)
    const b = at.get(l.node)
    if (a && b && n.id < l.node) lines.push(`<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" stroke="#3867d6" stroke-width="4" stroke-linecap="round"/>`)
  }
  const dots = placed.map((n, i) => {
    const p = at.get(n.id)!
    return `<circle cx="${p.x}" cy="${p.y}" r="13" fill="#fff" stroke="#3867d6" stroke-width="3"/><text x="${p.x}" y="${p.y + 5}" font-size="14" font-family="sans-serif" text-anchor="middle" fill="#1e2a3a">${i + 1}</text>`
  })
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${PLAN}" height="${PLAN}" viewBox="0 0 ${PLAN} ${PLAN}">`
    + `<rect width="100%" height="100%" fill="#f4f6f9"/>${grid.join('')}${lines.join('')}${dots.join('')}`
    + `<path d="M20 ${PLAN - 20}h${step * scale}" stroke="#1e2a3a" stroke-width="3"/><text x="20" y="${PLAN - 28}" font-size="14" font-family="sans-serif" fill="#1e2a3a">${step} m</text>`
    + `<text x="${PLAN - 30}" y="34" font-size="18" font-family="sans-serif" fill="#1e2a3a">N↑</text></svg>`
  return { url: `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`, at }
}

export function tourView(name: string): Promise<View> {
  return tourPage(ownerSource(name))
}

export function sharedTourView(token: string): Promise<View> {
  return tourPage(shareSource(token))
}

async function tourPage(src: Source): Promise<View> {
  const tour = (await src.tour()) as Tour
  const blobs: string[] = []
  // Thumbnails go into <img>/CSS, which cannot send the owner's key: fetch them (small) as blob URLs.
  const thumbs = await Promise.all(tour.nodes.map(async (n) => {
    const u = await src.loadable(n.thumbnail).catch(() => '')
    if (u.startsWith('blob:')) blobs.push(u)
    return u
  }))
  const plan = planOf(tour.nodes)
  const nodes: VirtualTourNode[] = tour.nodes.map((n, i) => ({
    id: n.id,
    panorama: n.panorama,
    name: esc(n.name),
    caption: esc(`${n.name} · ${i + 1} of ${tour.nodes.length}${n.taken_at ? ` · ${n.taken_at.replace('T', ' ')}` : ''}`),
    thumbnail: thumbs[i] || undefined,
    links: n.links.map((l) => ({ nodeId: l.node, position: { yaw: `${l.yaw}deg`, pitch: 0 } })),
    ...(n.gps ? { gps: [n.gps.lng, n.gps.lat, n.gps.alt] as [number, number, number?] } : {}),
    ...(plan && plan.at.get(n.id) ? { map: { ...plan.at.get(n.id)!, color: '#3867d6', hoverColor: '#e67e22', size: 18 } } : { map: false as const }),
  }))
  const count = h('span', { id: 'tour-node', 'aria-live': 'polite' })
  const box = h('div', { class: 'sphere tour', id: 'tour', role: 'application', 'aria-label': 'Virtual tour. Arrow keys look around; the gallery and the arrows move to the other panoramas.' })
  const el = h('section', { class: 'tour-page' },
    h('div', { class: 'titlebar' }, h('h1', {}, '360° tour'), count, h('a', { href: src.projectHref }, 'Back to the project')),
    h('p', { class: 'muted' }, `${tour.nodes.length} panoramas, linked by ${tour.ordered_by === 'gps' ? 'GPS position' : tour.ordered_by === 'position' ? 'scan position' : tour.ordered_by === 'time' ? 'capture time' : 'name'}. Click an arrow, a thumbnail in the gallery${plan ? ' or a dot on the plan' : ''} to move.`),
    box)
  let viewer: Viewer | null = null
  const mounted = () => {
    const headers = src.headers()
    viewer = new Viewer({
      container: box,
      loadingTxt: 'Loading panorama…',
      keyboard: 'always',
      requestHeaders: Object.keys(headers).length ? headers : undefined, // the owner's panoramas need the key
      navbar: ['zoom', 'move', 'gallery', ...(plan ? ['map'] : []), 'caption', 'fullscreen'],
      plugins: [
        GalleryPlugin.withConfig({ visibleOnLoad: true, hideOnClick: false, thumbnailSize: { width: 160, height: 90 } }),
        ...(plan ? [MapPlugin.withConfig({ size: '220px', position: 'top right', defaultZoom: 60, minZoom: 20, maxZoom: 400 })] : []),
        VirtualTourPlugin.withConfig({
          positionMode: 'manual',
          renderMode: '3d',
          nodes,
          startNodeId: tour.start,
          preload: true,
          ...(plan ? { map: { imageUrl: plan.url, size: { width: PLAN, height: PLAN } } } : {}),
        }),
      ],
    })
    const plugin = viewer.getPlugin<VirtualTourPlugin>(VirtualTourPlugin)
    plugin.addEventListener('node-changed', ({ node }) => {
      const index = tour.nodes.findIndex((n) => n.id === node.id)
      box.dataset.node = node.id
      box.dataset.loaded = node.id // node-changed comes once the node's panorama is shown
      count.textContent = `${index + 1} / ${tour.nodes.length}`
      announce(`Now at ${tour.nodes[index]?.name ?? node.id}`)
    })
  }
  return { el, mounted, destroy: () => { viewer?.destroy(); blobs.forEach((u) => URL.revokeObjectURL(u)) } }
}
