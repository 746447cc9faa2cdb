// @ts-check
// "What the operator sees": the Talki ticket sidebar for the selected user (name as the header, email,
// the plan as a coloured badge, the fields as a list) and, from the model, what Talki would do given the
// scenario that applies now. It re-renders each second while a downtime is counting down.
import { byId, h, planBadge, replace } from './dom.js'
import { effectFor } from './model.js'
import { simulation } from './scenarios.js'
import { selection } from './users.js'

/** @typedef {import('./users.js').UserRecord} UserRecord */

/** @param {import('./model.js').Catalogue} catalogue */
export function startSidebar(catalogue) {
  const render = () => {
    const { record, mode } = selection.get()
    byId('no-selection', HTMLElement).hidden = record !== null
    byId('selection', HTMLElement).hidden = record === null
    byId('selected-token', HTMLElement).textContent = record?.userToken ?? ''
    const panel = byId('preview', HTMLElement)
    const effect = byId('effect', HTMLElement)
    if (!record) return
    if (mode === 'new') {
      replace(effect)
      replace(panel, h('p', { class: 'muted' }, 'A new user: save it to see the preview.'))
      return
    }
    const sim = simulation.get()
    if (sim) {
      const { tone, sees, lines } = effectFor({
        simulation: sim,
        simulate: record.simulate,
        catalogue,
        now: Date.now(),
      })
      effect.className = `effect ${tone}`
      replace(effect, ...lines.flatMap((line, i) => (i === 0 ? [line] : [h('br'), line])))
      panel.dataset.sees = sees
    }
    renderPanel(panel, record)
  }
  selection.subscribe(render)
  simulation.subscribe(render)
  setInterval(() => {
    const until = simulation.get()?.downUntil
    if (until && Date.parse(until) > Date.now() - 1000) render()
  }, 1000)
}

/**
 * The sidebar shows only the keys the endpoint answers.
 * @param {HTMLElement} panel
 * @param {UserRecord} user
 */
function renderPanel(panel, user) {
  const fields = Object.entries(user.fields ?? {})
  const initials = (user.name ?? '?')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => Array.from(w)[0] ?? '')
    .join('')
  const empty =
    user.name === undefined && user.email === undefined && user.plan === undefined && fields.length === 0
  const note = {
    nothing: 'Under the scenario that applies, the operator sees no customer data. The endpoint holds:',
    error: 'Under the scenario that applies, Talki gets an answer it cannot read. The endpoint holds:',
  }[panel.dataset.sees ?? '']
  replace(
    panel,
    h('div', { class: 'panel-bar small' }, 'Customer', h('span', { class: 'muted' }, 'from your backend')),
    note ? h('p', { class: 'panel-note small' }, note) : null,
    h(
      'div',
      { class: 'panel-head' },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials || '?'),
      h(
        'div',
        {},
        h('h3', { class: user.name ? 'panel-name' : 'panel-name muted' }, user.name ?? 'Unknown visitor'),
        user.email ? h('p', { class: 'panel-email' }, user.email) : null,
      ),
    ),
    user.plan !== undefined ? h('p', {}, planBadge(user.plan)) : null,
    fields.length > 0
      ? h(
          'dl',
          { class: 'panel-fields' },
          ...fields.flatMap(([key, value]) => [h('dt', {}, key), h('dd', {}, String(value))]),
        )
      : null,
    empty
      ? h(
          'p',
          { class: 'muted small' },
          'The endpoint answers {} : Talki shows the ticket with no customer details.',
        )
      : null,
  )
}
