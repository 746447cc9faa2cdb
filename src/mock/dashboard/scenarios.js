// @ts-check
// The global scenario switches, built from the catalogue of GET /api/scenarios (names, parameters, ranges
// and defaults: none is written here), the override's state, and the endpoint's status pill, whose
// "back in N s" counts down to the `downUntil` that GET /api/simulation answers.
import { issueLines, request, waitingForToken } from './admin-api.js'
import { byId, h, replace, showErrors } from './dom.js'
import { describeSpec, fillSpec, isDownSpec, isSequence, plural, shortName } from './model.js'
import { signal } from './signal.js'

/**
 * @typedef {import('./model.js').Catalogue} Catalogue
 * @typedef {import('./model.js').Parameter} Parameter
 * @typedef {import('./model.js').ScenarioInfo} ScenarioInfo
 * @typedef {import('./model.js').SimulationState} SimulationState
 */

const POLL_MS = 2000

const state = signal(/** @type {SimulationState | null} */ (null))
/** GET /api/simulation as last answered; owned here. */
export const simulation = state.view

/** @type {Catalogue} */
let catalogue
/** The scenario whose form shows: the active override's, until one is picked; none while none is applied. */
let selected = /** @type {string | null} */ (null)
/** The active override's scenario the form last followed (`undefined` before the first state). */
let followed = /** @type {string | null | undefined} */ (undefined)

/** @param {Catalogue} given */
export function startScenarios(given) {
  catalogue = given
  renderSwitches()
  // An example to start from, with the sequence's own parameters at their defaults.
  const sequenceDefaults = catalogue.sequence.parameters.map((p) => [p.name, p.default])
  byId('custom-json', HTMLTextAreaElement).value = JSON.stringify({
    sequence: ['error', 'error', 'ok'],
    ...Object.fromEntries(sequenceDefaults.filter(([, value]) => value !== undefined)),
  })
  byId('override-form', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault()
    if (selected !== null) void applyOverride(overrideFromForm())
  })
  byId('clear', HTMLButtonElement).addEventListener('click', async () => {
    replace(byId('override-errors', HTMLElement))
    await request('DELETE', '/api/simulation')
    await refreshSimulation()
  })
  byId('apply-custom', HTMLButtonElement).addEventListener('click', () => {
    try {
      void applyOverride(JSON.parse(byId('custom-json', HTMLTextAreaElement).value))
    } catch (error) {
      showErrors(byId('override-errors', HTMLElement), [
        `Not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      ])
    }
  })
  state.subscribe(renderSimulation)
  setInterval(() => {
    if (!waitingForToken()) void refreshSimulation()
  }, POLL_MS)
  // The countdown ticks between polls, and asks again the moment the port should have reopened.
  setInterval(() => {
    const until = downUntil()
    if (until === null) return
    if (until <= Date.now()) void refreshSimulation()
    renderEndpointStatus()
  }, 1000)
}

let asked = 0
/** GET /api/simulation; an answer overtaken by a later question is dropped. */
export async function refreshSimulation() {
  const mine = ++asked
  const res = await request('GET', '/api/simulation')
  if (res.ok && mine === asked) state.set(res.data)
}

/** @returns {number | null} epoch ms when the endpoint port reopens, while it is closed */
function downUntil() {
  const text = state.get()?.downUntil
  return text ? Date.parse(text) : null
}

/** @param {string} name */
function scenarioInfo(name) {
  return catalogue.scenarios.find((s) => s.name === name)
}

/** `down` and the TLS faults take no count or probability (the catalogue says which). @param {string} name */
function takesLimits(name) {
  return scenarioInfo(name)?.limits !== false
}

function renderSwitches() {
  replace(
    byId('switches', HTMLElement),
    ...catalogue.scenarios.map((s) =>
      h(
        'label',
        { class: 'switch', 'data-scenario': s.name, title: s.description },
        h('input', {
          type: 'radio',
          name: 'scenario',
          value: s.name,
          checked: s.name === selected,
          onchange: () => {
            selected = s.name
            renderParams()
          },
        }),
        h('span', { class: 'switch-name' }, s.name),
        h('span', { class: 'switch-what' }, s.description ?? ''),
      ),
    ),
  )
  replace(byId('limits', HTMLElement), ...catalogue.override.parameters.map((p) => control(p, false)))
  renderParams()
}

function renderParams() {
  const scenario = selected === null ? undefined : scenarioInfo(selected)
  const params = byId('params', HTMLElement)
  params.hidden = !scenario
  byId('apply', HTMLElement).hidden = !scenario
  if (!scenario) {
    replace(params)
    byId('limits', HTMLElement).hidden = true
    byId('scenario-about', HTMLElement).textContent = 'Pick a scenario to switch it on for every request.'
    for (const label of document.querySelectorAll('.switch')) label.classList.remove('selected')
    return
  }
  replace(params, ...scenario.parameters.map((p) => control(p, true)))
  if (scenario.parameters.length === 0) {
    params.append(h('span', { class: 'muted small' }, `${scenario.name} takes no parameters`))
  }
  byId('scenario-about', HTMLElement).textContent = `${scenario.name}: ${scenario.description ?? ''}`
  byId('limits', HTMLElement).hidden = !takesLimits(scenario.name)
  for (const label of document.querySelectorAll('.switch')) {
    label.classList.toggle('selected', label.getAttribute('data-scenario') === scenario.name)
  }
}

/**
 * One parameter's input, from its type, range and default.
 * @param {Parameter} p
 * @param {boolean} prefill show the default as the value (else as a placeholder)
 */
function control(p, prefill) {
  const id = `p-${p.name}`
  /** @type {HTMLElement} */
  let input
  if (p.type === 'enum' || p.type === 'scenario') {
    const options =
      p.type === 'enum' ? (p.values ?? []).map((v) => ({ value: v, label: String(v) })) : failWithOptions(p)
    const fallback =
      p.type === 'scenario' && p.default !== undefined
        ? fillSpec(/** @type {any} */ (p.default), catalogue)
        : p.default
    input = h(
      'select',
      { id },
      ...options.map((o) => {
        const value = JSON.stringify(o.value)
        const isDefault = value === JSON.stringify(fallback)
        return h('option', { value, selected: isDefault }, `${o.label}${isDefault ? ' (default)' : ''}`)
      }),
    )
  } else {
    const range =
      p.minimum === undefined ? '' : p.maximum === undefined ? `≥ ${p.minimum}` : `${p.minimum}–${p.maximum}`
    input = h('input', {
      id,
      type: 'number',
      min: p.minimum,
      max: p.maximum,
      step: p.type === 'integer' ? 1 : 'any',
      inputmode: p.type === 'integer' ? 'numeric' : 'decimal',
      value: prefill ? p.default : undefined,
      placeholder: range,
    })
  }
  return h('label', { title: p.description }, `${p.name} `, input)
}

/**
 * The choices for a `scenario` parameter (flaky's failWith): its default, then every plain scenario, one
 * per value of an enum parameter (error 500, 502, …), with their defaults filled.
 * @param {Parameter} p
 * @returns {Array<{ value: unknown, label: string }>}
 */
function failWithOptions(p) {
  /** @type {unknown[]} */
  const specs = p.default === undefined ? [] : [fillSpec(/** @type {any} */ (p.default), catalogue)]
  const allowed = (/** @type {ScenarioInfo} */ s) => !Array.isArray(p.values) || p.values.includes(s.name)
  for (const s of catalogue.scenarios.filter(allowed)) {
    const choice = s.parameters.find((q) => q.type === 'enum')
    if (choice)
      for (const v of choice.values ?? [])
        specs.push(fillSpec({ scenario: s.name, [choice.name]: v }, catalogue))
    else specs.push(fillSpec(s.name, catalogue))
  }
  const seen = new Set()
  return specs
    .filter((spec) => {
      const key = JSON.stringify(spec)
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    .map((spec) => ({ value: spec, label: describeSpec(/** @type {any} */ (spec)) }))
}

/** The form as an override body. */
function overrideFromForm() {
  /** @type {Record<string, unknown>} */
  const body = { scenario: selected }
  const name = selected ?? ''
  const names = [
    ...(scenarioInfo(name)?.parameters ?? []),
    ...(takesLimits(name) ? catalogue.override.parameters : []),
  ].map((p) => p.name)
  for (const name of names) {
    const el = document.getElementById(`p-${name}`)
    if (el instanceof HTMLSelectElement) body[name] = JSON.parse(el.value)
    else if (el instanceof HTMLInputElement && el.value.trim() !== '') body[name] = Number(el.value)
  }
  return body
}

/** @param {unknown} body */
async function applyOverride(body) {
  const errors = byId('override-errors', HTMLElement)
  replace(errors)
  const res = await request('PUT', '/api/simulation', body)
  if (!res.ok) return showErrors(errors, issueLines(res.data))
  asked++
  state.set(res.data)
}

/** @param {SimulationState | null} sim */
function renderSimulation(sim) {
  if (!sim) return
  /** @type {Array<Node | string>} */
  const parts = []
  const override = sim.override
  if (override) {
    parts.push(h('strong', { class: 'on' }, `ON: ${describeSpec(override)}`))
    if (sim.remaining !== null) parts.push(` · ${plural(sim.remaining, 'request')} left`)
    if (override.probability !== undefined)
      parts.push(` · ${Math.round(override.probability * 100)} % of requests`)
    parts.push(' — every request, before users’ own scenarios')
  } else {
    parts.push(h('strong', {}, 'No global override'), ' — each user’s own scenario applies')
  }
  if (sim.startup)
    parts.push(h('br'), `SIMULATE at start: ${describeSpec(sim.startup)} (applies under any override)`)
  replace(byId('override-state', HTMLElement), ...parts)
  const active = override ? (isSequence(override) ? 'sequence' : override.scenario) : null
  for (const label of document.querySelectorAll('.switch')) {
    const on = label.getAttribute('data-scenario') === active
    label.classList.toggle('active', on)
    label.querySelector('input')?.setAttribute('aria-description', on ? 'active now' : '')
  }
  if (active !== followed) followOverride(active, override)
  renderEndpointStatus()
}

/**
 * The form follows the override now in force: its card checked and its values filled, or no card and no
 * form when none is applied, so Apply never switches to a scenario nobody picked.
 * @param {string | null} active
 * @param {Record<string, unknown> | null} override
 */
function followOverride(active, override) {
  followed = active
  selected = active !== null && scenarioInfo(active) ? active : null
  for (const input of document.querySelectorAll('#switches input')) {
    if (input instanceof HTMLInputElement) input.checked = input.value === selected
  }
  renderParams()
  if (selected === null || !override) return
  for (const [name, value] of Object.entries(override)) {
    const el = document.getElementById(`p-${name}`)
    if (el instanceof HTMLSelectElement) el.value = JSON.stringify(value)
    else if (el instanceof HTMLInputElement && typeof value === 'number') el.value = String(value)
  }
}

function renderEndpointStatus() {
  const pill = byId('endpoint-status', HTMLElement)
  const sim = state.get()
  const override = sim?.override ?? null
  const until = downUntil()
  if (until !== null && until > Date.now()) {
    const left = Math.max(1, Math.ceil((until - Date.now()) / 1000))
    const cause = override && isDownSpec(override) ? 'global override' : 'a user’s own down'
    pill.className = 'pill bad'
    pill.textContent = `Endpoint down, back in ${left} s (${cause})`
  } else if (override) {
    pill.className = 'pill warn'
    pill.textContent = `Global scenario on: ${shortName(override)}`
  } else {
    pill.className = 'pill good'
    pill.textContent = 'No global scenario: users’ own apply'
  }
}
