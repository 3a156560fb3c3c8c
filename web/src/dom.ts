// A tiny element builder: h('button', {class: 'x', onclick}, 'text') — enough for this app, no framework.

type Attrs = Record<string, any>
type Child = Node | string | number | null | undefined | false | Child[]

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = v
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v)
    else if (k in el && !k.includes('-') && k !== 'list') (el as any)[k] = v
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  append(el, children)
  return el
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)))
  }
}

export function announce(text: string): void {
  const live = document.getElementById('live')
  if (live) live.textContent = text
}

/** Calls `fn` now and every `ms` while `alive()` holds (the view is still on screen). */
export function poll(fn: () => Promise<void>, ms: number, alive: () => boolean): void {
  const tick = async () => {
    if (!alive()) return
    try {
      await fn()
    } finally {
      if (alive()) setTimeout(tick, ms)
    }
  }
  void tick()
}
