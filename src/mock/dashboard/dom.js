// @ts-check
// DOM helpers. Everything the server or a user typed is rendered with textContent / Element.append(string),
// never as HTML, so a record like `<img onerror=…>` stays text.

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id)
  if (!(el instanceof type)) throw new Error(`#${id} is missing`)
  return el
}

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * Creates an element; children that are strings become text nodes (never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {Child[]} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') el.className = String(value)
    else if (key === 'text') el.textContent = String(value)
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
    } else if (value === true) el.setAttribute(key, '')
    else el.setAttribute(key, String(value))
  }
  el.append(...present(children))
  return el
}

/** @param {Element} el @param {Child[]} children */
export function replace(el, ...children) {
  el.replaceChildren(...present(children))
}

/** @param {Child[]} children @returns {Array<Node | string>} */
function present(children) {
  return /** @type {Array<Node | string>} */ (
    children.filter((c) => c !== null && c !== undefined && c !== false)
  )
}

/** @param {HTMLElement} list @param {string[]} lines */
export function showErrors(list, lines) {
  replace(list, ...lines.map((line) => h('li', {}, line)))
}

const KNOWN_PLANS = ['free', 'starter', 'pro', 'enterprise']

/** The plan as Talki renders it: a coloured badge. @param {string | undefined} plan */
export function planBadge(plan) {
  if (plan === undefined) return null
  const known = KNOWN_PLANS.indexOf(plan.toLowerCase())
  let hash = 0
  for (const ch of plan) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) % 997
  const cls = known >= 0 ? `plan-${KNOWN_PLANS[known]}` : `plan-other-${hash % 4}`
  return h('span', { class: `badge plan ${cls}` }, plan)
}
