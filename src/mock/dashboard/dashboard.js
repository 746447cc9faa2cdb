// @ts-check
// The QA dashboard: plain DOM, no framework, no build step. Everything the server or a user typed is
// rendered with textContent / Element.append(string), never as HTML, so a record like
// `<img onerror=…>` stays text. The only inputs are the admin API (same origin) and the SSE stream.

/**
 * @typedef {{ scenario: string, [key: string]: unknown }} ScenarioObject
 * @typedef {string | ScenarioObject | { sequence: Array<string | ScenarioObject>, windowMs?: number, count?: number, probability?: number }} Spec
 * @typedef {{ userToken: string, name?: string, email?: string, plan?: string, fields?: Record<string, string | number | boolean>, simulate?: Spec }} UserRecord
 * @typedef {{ override: (Spec & { count?: number, probability?: number }) | null, remaining: number | null, startup: Spec | null }} SimulationState
 * @typedef {{ trailingNewlineAdded: boolean, trailingNewlineRemoved: boolean, reserialized: boolean, secretWhitespace: boolean }} Findings
 * @typedef {{ id: number, time: string, token: string | null, verdict: string | null, findings: Findings | null, scenario: string | null, status: number | null, latencyMs: number, callerGaveUpMs: number | null, sincePreviousMs: number | null }} LogEntry
 * @typedef {{ key: string, label: string, def: number, options?: Array<{ value: string, label: string }> }} Param
 */

const TALKI_BUDGET_MS = 5000
const TALKI_RETRY_MS = 3000
const TOKEN_KEY = 'talki-admin-token'
const MAX_LOG = 300
const POLL_MS = 2000

const FAIL_WITH = [
  ['{"scenario":"error","status":503}', 'error 503 (default)'],
  ['{"scenario":"error","status":500}', 'error 500'],
  ['{"scenario":"error","status":502}', 'error 502'],
  ['{"scenario":"error","status":504}', 'error 504'],
  ['"reset"', 'reset'],
  ['"hang"', 'hang'],
  ['"slow"', 'slow 6000 ms'],
].map(([value, label]) => ({ value: String(value), label: String(label) }))

/** SPEC §5, in the order QA thinks of them; `what` is what the caller sees. */
/** @type {Array<{ name: string, what: string, params: Param[], noLimits?: boolean }>} */
const SCENARIOS = [
  { name: 'ok', what: 'normal answer', params: [] },
  {
    name: 'slow',
    what: 'answers late',
    params: [
      { key: 'delayMs', label: 'delay (ms)', def: 6000 },
      { key: 'jitterMs', label: '± jitter (ms)', def: 0 },
    ],
  },
  { name: 'not_found', what: '404 user_not_found', params: [] },
  { name: 'unauthorized', what: '401 invalid_signature', params: [] },
  {
    name: 'error',
    what: '5xx simulated_error',
    params: [
      {
        key: 'status',
        label: 'status',
        def: 500,
        options: ['500', '502', '503', '504'].map((s) => ({ value: s, label: s })),
      },
    ],
  },
  {
    name: 'down',
    what: 'port closed, refused',
    params: [{ key: 'durationMs', label: 'down for (ms)', def: 10000 }],
    noLimits: true,
  },
  { name: 'reset', what: 'connection cut', params: [] },
  { name: 'hang', what: 'no answer', params: [{ key: 'maxMs', label: 'close after (ms)', def: 60000 }] },
  { name: 'malformed', what: '200, not JSON', params: [] },
  { name: 'wrong_shape', what: '200, breaks contract', params: [] },
  {
    name: 'flaky',
    what: 'fails once, retry OK',
    params: [
      { key: 'failWith', label: 'first attempt', def: 0, options: FAIL_WITH },
      { key: 'windowMs', label: 'window (ms)', def: 10000 },
    ],
  },
]

const KNOWN_PLANS = ['free', 'starter', 'pro', 'enterprise']

// ---------------------------------------------------------------------------------------------------
// DOM helpers

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} type
 * @returns {T}
 */
function byId(id, type) {
  const el = document.getElementById(id)
  if (!(el instanceof type)) throw new Error(`#${id} is missing`)
  return el
}

/**
 * Creates an element; children that are strings become text nodes (never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {Array<Node | string | null | undefined | false>} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
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
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child)
  return el
}

/** @param {Element} el @param {Array<Node | string | null | undefined | false>} children */
function replace(el, ...children) {
  el.replaceChildren(
    .../** @type {Array<Node | string>} */ (
      children.filter((c) => c !== null && c !== undefined && c !== false)
    ),
  )
}

/** @param {number} ms */
function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`
}

/** Latency as people read it: `12 ms`, `4.5 s`. @param {number} ms */
function latency(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : seconds(ms)
}

/** @param {number} ms */
function shortMs(ms) {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

// ---------------------------------------------------------------------------------------------------
// State

const state = {
  /** @type {string | null} */
  adminToken: sessionStorage.getItem(TOKEN_KEY),
  /** @type {SimulationState | null} */
  simulation: null,
  /** Epoch ms when the endpoint port reopens, when the dashboard knows it. */
  /** @type {{ until: number, cause: string } | null} */
  down: null,
  users: { q: '', offset: 0, limit: 25, total: 0, list: /** @type {UserRecord[]} */ ([]) },
  /** @type {UserRecord | null} the selected user as stored */
  record: null,
  /** 'edit' an existing user, 'new' for one not saved yet */
  editorMode: 'edit',
  /** @type {LogEntry[]} */
  log: [],
  /** @type {LogEntry[]} entries that arrived while paused */
  held: [],
  paused: false,
  endpoint: { path: '/talki/customer', field: 'userToken' },
  selectedScenario: 'error',
}

// ---------------------------------------------------------------------------------------------------
// The admin API, with the token asked for once on the first 401

/** @type {Promise<void> | null} */
let tokenPrompt = null

/**
 * Shows the token dialog (once, however many calls are waiting) and resolves when a token is entered.
 * @param {boolean} refused a token was sent and refused
 * @returns {Promise<void>}
 */
function askForToken(refused) {
  if (tokenPrompt) return tokenPrompt
  const dialog = byId('token-dialog', HTMLDialogElement)
  const form = byId('token-form', HTMLFormElement)
  const input = byId('token-input', HTMLInputElement)
  byId('token-error', HTMLElement).textContent = refused ? 'That token was refused. Try again.' : ''
  input.value = ''
  tokenPrompt = new Promise((resolve) => {
    /** @param {SubmitEvent} event */
    const submitted = (event) => {
      event.preventDefault()
      const value = input.value.trim()
      if (!value) return
      form.removeEventListener('submit', submitted)
      state.adminToken = value
      sessionStorage.setItem(TOKEN_KEY, value)
      dialog.close()
      tokenPrompt = null
      resolve()
    }
    form.addEventListener('submit', submitted)
  })
  dialog.showModal()
  input.focus()
  return tokenPrompt
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<{ status: number, ok: boolean, data: any }>}
 */
async function api(method, path, body) {
  for (;;) {
    /** @type {Record<string, string>} */
    const headers = {}
    const sent = state.adminToken
    if (sent) headers.Authorization = `Bearer ${sent}`
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    const res = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (res.status === 401) {
      // Another call may have got a token meanwhile; otherwise ask (saying so when one was refused).
      if (state.adminToken === sent) {
        if (sent) {
          state.adminToken = null
          sessionStorage.removeItem(TOKEN_KEY)
        }
        await askForToken(Boolean(sent))
      }
      continue
    }
    const text = await res.text()
    let data = null
    if (text) {
      try {
        data = JSON.parse(text)
      } catch {
        data = { error: text.slice(0, 200) }
      }
    }
    return { status: res.status, ok: res.ok, data }
  }
}

/** @param {any} data @returns {string[]} */
function issueLines(data) {
  if (data && Array.isArray(data.issues) && data.issues.length > 0) {
    return data.issues.slice(0, 12).map((/** @type {any} */ issue) => {
      const where = Array.isArray(issue.path) && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
      return `${where}${String(issue.message)}`
    })
  }
  return [data && typeof data.error === 'string' ? data.error : 'the request failed']
}

/** @param {HTMLElement} list @param {string[]} lines */
function showErrors(list, lines) {
  replace(list, ...lines.map((line) => h('li', {}, line)))
}

// ---------------------------------------------------------------------------------------------------
// Scenarios in words

/** @param {Spec} spec @returns {ScenarioObject | { sequence: Array<string | ScenarioObject>, windowMs?: number }} */
function asObject(spec) {
  return typeof spec === 'string' ? { scenario: spec } : spec
}

/** @param {Spec} spec @returns {string} */
function describeSpec(spec) {
  const s = /** @type {any} */ (asObject(spec))
  if (Array.isArray(s.sequence)) {
    return `sequence ${s.sequence.map(describeSpec).join(' → ')} (rewinds after ${shortMs(s.windowMs ?? 10000)} idle)`
  }
  switch (s.scenario) {
    case 'slow':
      return `slow ${s.delayMs ?? 6000} ms${s.jitterMs ? ` ± ${s.jitterMs}` : ''}`
    case 'error':
      return `error ${s.status ?? 500}`
    case 'down':
      return `down ${shortMs(s.durationMs ?? 10000)}`
    case 'hang':
      return `hang (closed after ${shortMs(s.maxMs ?? 60000)})`
    case 'flaky':
      return `flaky: ${describeSpec(s.failWith ?? { scenario: 'error', status: 503 })} then ok`
    default:
      return String(s.scenario)
  }
}

/** @param {Spec} spec */
function shortName(spec) {
  const s = /** @type {any} */ (asObject(spec))
  if (Array.isArray(s.sequence)) return 'sequence'
  if (s.scenario === 'error') return `error ${s.status ?? 500}`
  if (s.scenario === 'slow') return `slow ${s.delayMs ?? 6000} ms`
  return String(s.scenario)
}

/**
 * What one attempt by Talki meets. `down`: Talki counts it as down and retries once (refused, reset,
 * no answer within 5 s, or a 5xx); otherwise it is an answer.
 * @param {any} s a plain scenario object
 * @returns {{ down: boolean, show: boolean, text: string }}
 */
function attempt(s) {
  switch (s.scenario) {
    case 'ok':
      return { down: false, show: true, text: '200' }
    case 'slow': {
      const delay = s.delayMs ?? 6000
      const jitter = s.jitterMs ?? 0
      if (delay + jitter <= TALKI_BUDGET_MS)
        return { down: false, show: true, text: `after ${delay} ms, inside 5 s` }
      if (delay - jitter > TALKI_BUDGET_MS)
        return { down: true, show: false, text: `time out (${delay} ms > 5 s)` }
      return { down: true, show: false, text: `may time out (${delay} ± ${jitter} ms around 5 s)` }
    }
    case 'not_found':
      return { down: false, show: false, text: '404 user_not_found' }
    case 'unauthorized':
      return { down: false, show: false, text: '401 invalid_signature' }
    case 'error':
      return { down: true, show: false, text: `${s.status ?? 500} simulated_error` }
    case 'reset':
      return { down: true, show: false, text: 'connection reset' }
    case 'hang': {
      const max = s.maxMs ?? 60000
      return {
        down: true,
        show: false,
        text: max >= TALKI_BUDGET_MS ? 'time out (no answer in 5 s)' : `connection closed after ${max} ms`,
      }
    }
    case 'malformed':
      return { down: false, show: false, text: '200 whose body is not JSON' }
    case 'wrong_shape':
      return { down: false, show: false, text: '200 that breaks the contract (plan a number, nested fields)' }
    case 'down':
      return { down: true, show: false, text: 'connection reset, then the port closes' }
    default:
      return { down: false, show: true, text: '200' }
  }
}

/**
 * Talki's attempt and its one retry 3 s later, for a scenario or sequence, from a fresh state.
 * @param {Spec} spec
 * @returns {{ tone: 'good' | 'warn' | 'bad', text: string }}
 */
function talkiWould(spec) {
  const s = /** @type {any} */ (asObject(spec))
  if (s.scenario === 'down') {
    const duration = s.durationMs ?? 10000
    return {
      tone: 'bad',
      text: `Talki would skip: the endpoint is down (the port closes for ${shortMs(duration)}; the retry after 3 s is refused${duration <= TALKI_RETRY_MS ? ' or meets the next downtime' : ''})`,
    }
  }
  /** @type {any[]} */
  let items
  let windowMs = 10000
  if (Array.isArray(s.sequence)) {
    items = s.sequence.map(asObject)
    windowMs = s.windowMs ?? 10000
  } else if (s.scenario === 'flaky') {
    items = [asObject(s.failWith ?? { scenario: 'error', status: 503 }), { scenario: 'ok' }]
    windowMs = s.windowMs ?? 10000
  } else items = [s]
  const at = (/** @type {number} */ i) => items[Math.min(i, items.length - 1)]
  const first = attempt(at(0))
  if (!first.down) return outcome(first, '')
  // The retry comes 3 s after the attempt ended: it is the next item only while inside the window.
  const retry = attempt(at(windowMs > TALKI_RETRY_MS ? 1 : 0))
  if (first.text.startsWith('may time out')) {
    return {
      tone: 'warn',
      text: `Talki ${first.text}: when late it retries after 3 s; an answer inside 5 s shows this`,
    }
  }
  const before = `the first attempt gets ${first.text}; `
  if (!retry.down) {
    if (retry.show)
      return {
        tone: 'warn',
        text: `Talki would retry after 3 s and then show this (${before}the retry gets 200)`,
      }
    return { tone: 'bad', text: `Talki would show nothing: ${before}the retry after 3 s gets ${retry.text}` }
  }
  let text =
    retry.text === first.text
      ? `Talki would skip: its attempt and its retry after 3 s both get ${first.text}`
      : `Talki would skip: ${before}the retry after 3 s gets ${retry.text}`
  if (first.text.startsWith('time out') && retry.text === first.text) {
    text = `Talki would time out (${first.text.slice('time out ('.length, -1)}), retry after 3 s, time out again and show nothing`
  }
  if (items.length > 2 && windowMs > TALKI_RETRY_MS) {
    const later = attempt(at(2))
    if (later.show) text += `; a Refresh within ${shortMs(windowMs)} would show this`
  }
  return { tone: 'bad', text }
}

/**
 * @param {{ down: boolean, show: boolean, text: string }} a
 * @param {string} suffix
 * @returns {{ tone: 'good' | 'warn' | 'bad', text: string }}
 */
function outcome(a, suffix) {
  if (a.show) {
    const late = a.text !== '200'
    return {
      tone: late ? 'warn' : 'good',
      text: `Talki would show this${late ? ` (${a.text})` : ''}${suffix}`,
    }
  }
  if (a.text.startsWith('404')) return { tone: 'bad', text: 'Talki would show nothing (404 user_not_found)' }
  if (a.text.startsWith('401'))
    return {
      tone: 'bad',
      text: 'Talki would show nothing (401 invalid_signature, as after an unsynced secret rotation)',
    }
  if (a.text.includes('not JSON'))
    return { tone: 'bad', text: 'Talki would show nothing: the 200 answer is not JSON' }
  return {
    tone: 'bad',
    text: 'Talki gets a 200 that breaks the contract (plan is a number, fields nested): it may show nothing or a broken panel',
  }
}

/**
 * The scenario that would apply to this user, strongest first (SPEC §5): global override, SIMULATE, the
 * user's own `simulate`.
 * @param {UserRecord} user
 * @returns {{ tone: 'good' | 'warn' | 'bad', lines: string[] }}
 */
function effectFor(user) {
  const sim = state.simulation
  /** @type {string[]} */
  const lines = []
  /** @param {Spec | undefined | null} spec @param {string} source */
  const from = (spec, source) => {
    const result = spec
      ? talkiWould(spec)
      : { tone: /** @type {const} */ ('good'), text: 'Talki would show this' }
    return { tone: result.tone, line: `${result.text}${source ? ` — ${source}` : ''}` }
  }
  const below = () => {
    if (sim?.startup) return from(sim.startup, `SIMULATE at start: ${describeSpec(sim.startup)}`)
    if (user.simulate) return from(user.simulate, `the user's own scenario: ${describeSpec(user.simulate)}`)
    return from(null, 'no scenario applies')
  }
  const override = sim?.override
  if (override) {
    const o = /** @type {any} */ (asObject(override))
    if (o.scenario === 'down') {
      return { tone: 'bad', lines: ['Talki would skip: the endpoint is down (global override)'] }
    }
    const main = from(override, `global override: ${describeSpec(override)}`)
    const left =
      sim?.remaining != null ? ` for the next ${sim.remaining} request${sim.remaining === 1 ? '' : 's'}` : ''
    if (o.probability !== undefined && o.probability < 1) {
      const pct = Math.round(o.probability * 100)
      const other = below()
      lines.push(`${pct} % of requests${left}: ${main.line}`, `Otherwise: ${other.line}`)
      return {
        tone:
          main.tone === 'good' ? other.tone : main.tone === 'bad' || other.tone === 'bad' ? 'bad' : 'warn',
        lines,
      }
    }
    if (left) {
      const other = below()
      lines.push(`${main.line}${left}`, `After that: ${other.line}`)
      return { tone: main.tone, lines }
    }
    return { tone: main.tone, lines: [main.line] }
  }
  const b = below()
  return { tone: b.tone, lines: [b.line] }
}

// ---------------------------------------------------------------------------------------------------
// Global scenario switches

function renderSwitches() {
  const row = byId('switches', HTMLElement)
  replace(
    row,
    ...SCENARIOS.map((s) =>
      h(
        'label',
        { class: 'switch', 'data-scenario': s.name },
        h('input', {
          type: 'radio',
          name: 'scenario',
          value: s.name,
          checked: s.name === state.selectedScenario,
          onchange: () => {
            state.selectedScenario = s.name
            renderParams()
          },
        }),
        h('span', { class: 'switch-name' }, s.name),
        h('span', { class: 'switch-what' }, s.what),
      ),
    ),
  )
  renderParams()
}

function renderParams() {
  const scenario = SCENARIOS.find((s) => s.name === state.selectedScenario) ?? SCENARIOS[0]
  if (!scenario) return
  const params = byId('params', HTMLElement)
  replace(
    params,
    ...scenario.params.map((p) => {
      const id = `p-${p.key}`
      const control = p.options
        ? h(
            'select',
            { id },
            ...p.options.map((o) =>
              h('option', { value: o.value, selected: o.value === String(p.def) }, o.label),
            ),
          )
        : h('input', { id, type: 'number', min: 0, max: 600000, step: 1, value: p.def })
      return h('label', {}, `${p.label} `, control)
    }),
  )
  if (scenario.params.length === 0)
    params.append(h('span', { class: 'muted small' }, `${scenario.name} takes no parameters`))
  byId('limits', HTMLElement).hidden = Boolean(scenario.noLimits)
  for (const label of document.querySelectorAll('.switch')) {
    label.classList.toggle('selected', label.getAttribute('data-scenario') === scenario.name)
  }
}

/** Reads the form into an override body; empty numbers are left out so the server fills the default. */
function overrideFromForm() {
  const scenario = SCENARIOS.find((s) => s.name === state.selectedScenario)
  /** @type {Record<string, unknown>} */
  const body = { scenario: state.selectedScenario }
  for (const p of scenario?.params ?? []) {
    const el = document.getElementById(`p-${p.key}`)
    if (el instanceof HTMLSelectElement) body[p.key] = JSON.parse(el.value)
    else if (el instanceof HTMLInputElement && el.value.trim() !== '') body[p.key] = Number(el.value)
  }
  if (!scenario?.noLimits) {
    const count = byId('p-count', HTMLInputElement).value.trim()
    const probability = byId('p-probability', HTMLInputElement).value.trim()
    if (count !== '') body.count = Number(count)
    if (probability !== '') body.probability = Number(probability)
  }
  return body
}

/** @param {unknown} body */
async function applyOverride(body) {
  const errors = byId('override-errors', HTMLElement)
  replace(errors)
  const res = await api('PUT', '/api/simulation', body)
  if (!res.ok) {
    showErrors(errors, issueLines(res.data))
    return
  }
  const o = /** @type {any} */ (res.data.override)
  state.down =
    o && o.scenario === 'down'
      ? { until: Date.now() + (o.durationMs ?? 10000), cause: 'global override' }
      : null
  state.simulation = res.data
  renderSimulation()
}

function renderSimulation() {
  const sim = state.simulation
  const el = byId('override-state', HTMLElement)
  if (!sim) return
  /** @type {Array<Node | string>} */
  const parts = []
  if (sim.override) {
    const o = /** @type {any} */ (sim.override)
    parts.push(h('strong', { class: 'on' }, `ON: ${describeSpec(sim.override)}`))
    if (sim.remaining != null) parts.push(` · ${sim.remaining} request${sim.remaining === 1 ? '' : 's'} left`)
    if (o.probability !== undefined) parts.push(` · ${Math.round(o.probability * 100)} % of requests`)
    parts.push(' — every request, before users’ own scenarios')
  } else {
    parts.push(h('strong', {}, 'No global override'), ' — each user’s own scenario applies')
  }
  if (sim.startup)
    parts.push(h('br'), `SIMULATE at start: ${describeSpec(sim.startup)} (applies under any override)`)
  replace(el, ...parts)
  const active = sim.override
    ? String(/** @type {any} */ (asObject(sim.override)).scenario ?? 'sequence')
    : null
  for (const label of document.querySelectorAll('.switch')) {
    const on = label.getAttribute('data-scenario') === active
    label.classList.toggle('active', on)
    const input = label.querySelector('input')
    if (input) input.setAttribute('aria-description', on ? 'active now' : '')
  }
  renderEndpointStatus()
  renderEffect()
}

function renderEndpointStatus() {
  const pill = byId('endpoint-status', HTMLElement)
  const sim = state.simulation
  const o = /** @type {any} */ (sim?.override ? asObject(sim.override) : null)
  const globalDown = o?.scenario === 'down'
  if (state.down && state.down.until <= Date.now() && !globalDown) state.down = null
  if (state.down || globalDown) {
    const left = state.down ? Math.max(0, Math.ceil((state.down.until - Date.now()) / 1000)) : null
    pill.className = 'pill bad'
    pill.textContent = state.down
      ? `Endpoint down, back in ${left} s (${state.down.cause})`
      : `Endpoint down (global override of ${shortMs(o.durationMs ?? 10000)})`
    return
  }
  if (sim?.override) {
    pill.className = 'pill warn'
    pill.textContent = `Global scenario on: ${shortName(sim.override)}`
  } else {
    pill.className = 'pill good'
    pill.textContent = 'No global scenario: users’ own apply'
  }
}

async function refreshSimulation() {
  const res = await api('GET', '/api/simulation')
  if (res.ok) {
    state.simulation = res.data
    renderSimulation()
  }
}

// ---------------------------------------------------------------------------------------------------
// Users

/** @param {string | undefined} plan */
function planBadge(plan) {
  if (plan === undefined) return null
  const known = KNOWN_PLANS.indexOf(plan.toLowerCase())
  let hash = 0
  for (const ch of plan) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) % 997
  const cls = known >= 0 ? `plan-${KNOWN_PLANS[known]}` : `plan-other-${hash % 4}`
  return h('span', { class: `badge plan ${cls}` }, plan)
}

/** @param {Spec | undefined} spec */
function simulateBadge(spec) {
  if (spec === undefined) return null
  return h(
    'span',
    { class: 'badge sim', title: `own scenario: ${describeSpec(spec)}` },
    `⚡ ${shortName(spec)}`,
  )
}

async function loadUsers() {
  const { q, offset, limit } = state.users
  const query = new URLSearchParams({ offset: String(offset), limit: String(limit) })
  if (q) query.set('q', q)
  const res = await api('GET', `/api/users?${query}`)
  if (!res.ok) return
  state.users.total = res.data.total
  state.users.list = res.data.users
  renderUsers()
}

function renderUsers() {
  const { list, offset, total, limit } = state.users
  const selected = state.record?.userToken
  replace(
    byId('user-list', HTMLElement),
    ...list.map((user) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'user-row',
            'aria-pressed': String(user.userToken === selected),
            'data-token': user.userToken,
            onclick: () => selectUser(user.userToken),
          },
          h(
            'span',
            { class: 'user-main' },
            h('span', { class: user.name ? 'user-name' : 'user-name muted' }, user.name ?? '(no name)'),
            h('span', { class: 'mono small muted' }, user.userToken),
          ),
          h('span', { class: 'user-badges' }, planBadge(user.plan), simulateBadge(user.simulate)),
        ),
      ),
    ),
  )
  if (list.length === 0)
    byId('user-list', HTMLElement).append(h('li', { class: 'muted' }, 'No user matches.'))
  byId('page-info', HTMLElement).textContent =
    total === 0 ? '0 users' : `${offset + 1}–${offset + list.length} of ${total}`
  byId('prev', HTMLButtonElement).disabled = offset === 0
  byId('next', HTMLButtonElement).disabled = offset + limit >= total
}

/** @param {string} token */
async function selectUser(token) {
  const res = await api('GET', `/api/users/${encodeURIComponent(token)}`)
  if (!res.ok) return
  state.record = res.data
  state.editorMode = 'edit'
  showSelection()
  byId('editor', HTMLTextAreaElement).value = JSON.stringify(res.data, null, 2)
  replace(byId('editor-errors', HTMLElement))
  byId('editor-saved', HTMLElement).textContent = ''
  renderUsers()
}

function showSelection() {
  const record = state.record
  byId('no-selection', HTMLElement).hidden = record !== null
  byId('selection', HTMLElement).hidden = record === null
  byId('selected-token', HTMLElement).textContent = record?.userToken ?? ''
  byId('delete', HTMLButtonElement).hidden = state.editorMode === 'new'
  renderPreview()
  renderEffect()
  renderCommands()
}

/** The Talki ticket sidebar as an operator sees it: only the keys the endpoint answers. */
function renderPreview() {
  const panel = byId('preview', HTMLElement)
  const user = state.record
  if (!user) return replace(panel)
  if (state.editorMode === 'new') {
    return replace(panel, h('p', { class: 'muted' }, 'A new user: save it to see the preview.'))
  }
  const fields = Object.entries(user.fields ?? {})
  const initials = (user.name ?? '?')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => Array.from(w)[0] ?? '')
    .join('')
  const empty =
    user.name === undefined && user.email === undefined && user.plan === undefined && fields.length === 0
  replace(
    panel,
    h('div', { class: 'panel-bar small' }, 'Customer', h('span', { class: 'muted' }, 'from your backend')),
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

function renderEffect() {
  const el = byId('effect', HTMLElement)
  const user = state.record
  if (!user || state.editorMode === 'new') return replace(el)
  const { tone, lines } = effectFor(user)
  el.className = `effect ${tone}`
  replace(el, ...lines.flatMap((line, i) => (i === 0 ? [line] : [h('br'), line])))
}

/** @param {string} text */
function shellQuote(text) {
  return /^[A-Za-z0-9_.:@%+=,/-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`
}

function renderCommands() {
  const user = state.record
  const el = byId('commands', HTMLElement)
  if (!user) return replace(el)
  const port = byId('endpoint-port', HTMLInputElement).value || '3000'
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname
  const url = `http://${host}:${port}${state.endpoint.path}`
  const defaultUrl = url === 'http://127.0.0.1:3000/talki/customer'
  const token = shellQuote(user.userToken)
  const urlFlag = defaultUrl ? '' : ` --url ${url}`
  const fieldFlag = state.endpoint.field === 'userToken' ? '' : ` --field ${shellQuote(state.endpoint.field)}`
  const body = JSON.stringify({ [state.endpoint.field]: user.userToken })
  const curl =
    `BODY='${body.replaceAll("'", "'\\''")}'; ` +
    `curl -s ${url} -H 'Content-Type: application/json' ` +
    `-H "X-Talki-Signature: $(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$(cat data/.secret)" | sed 's/^.* //')" ` +
    `-d "$BODY"`
  replace(
    el,
    commandBlock(
      'Play Talki (5 s timeout, one retry after 3 s)',
      `talki-endpoint send ${token}${urlFlag}${fieldFlag}`,
    ),
    commandBlock('The same from the project folder', `npm run cli -- send ${token}${urlFlag}${fieldFlag}`),
    commandBlock('Signed curl (signature computed in your shell)', curl),
  )
}

/** @param {string} label @param {string} text */
function commandBlock(label, text) {
  const status = h('span', { class: 'copied small', role: 'status' })
  return h(
    'div',
    { class: 'command' },
    h('div', { class: 'command-head small muted' }, label, status),
    h(
      'div',
      { class: 'command-body' },
      h('code', { class: 'mono' }, text),
      h(
        'button',
        {
          type: 'button',
          class: 'copy',
          'aria-label': `Copy: ${label}`,
          onclick: async () => {
            status.textContent = (await copy(text)) ? 'copied' : 'select and copy by hand'
            setTimeout(() => {
              status.textContent = ''
            }, 2000)
          },
        },
        'Copy',
      ),
    ),
  )
}

/** @param {string} text */
async function copy(text) {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    const area = document.createElement('textarea')
    area.className = 'offscreen'
    area.value = text
    document.body.append(area)
    area.select()
    const done = document.execCommand('copy')
    area.remove()
    return done
  }
}

async function saveEditor() {
  const errors = byId('editor-errors', HTMLElement)
  const saved = byId('editor-saved', HTMLElement)
  replace(errors)
  saved.textContent = ''
  /** @type {any} */
  let record
  try {
    record = JSON.parse(byId('editor', HTMLTextAreaElement).value)
  } catch (error) {
    return showErrors(errors, [
      `Not valid JSON: ${error instanceof Error ? error.message : String(error)}. Nothing was saved.`,
    ])
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return showErrors(errors, ['The record must be a JSON object. Nothing was saved.'])
  }
  if (typeof record.userToken !== 'string' || record.userToken === '') {
    return showErrors(errors, ['userToken: a non-empty string is required. Nothing was saved.'])
  }
  const token = record.userToken
  const renamed = state.editorMode === 'edit' && state.record && state.record.userToken !== token
  if (state.editorMode === 'new' || renamed) {
    const existing = await api('GET', `/api/users/${encodeURIComponent(token)}`)
    if (existing.ok) {
      return showErrors(errors, [
        `userToken: ${token} exists already — select it in the list to edit it. Nothing was saved.`,
      ])
    }
  }
  const res = await api('PUT', `/api/users/${encodeURIComponent(token)}`, record)
  if (!res.ok) return showErrors(errors, [...issueLines(res.data), 'Nothing was saved.'])
  state.record = res.data
  state.editorMode = 'edit'
  byId('editor', HTMLTextAreaElement).value = JSON.stringify(res.data, null, 2)
  saved.textContent =
    res.status === 201 ? `Created ${token}.` : `Saved. The endpoint serves the change from the next request.`
  showSelection()
  await loadUsers()
}

async function deleteSelected() {
  const user = state.record
  if (!user) return
  if (!confirm(`Delete user ${user.userToken}? The endpoint will answer 404 for it.`)) return
  const res = await api('DELETE', `/api/users/${encodeURIComponent(user.userToken)}`)
  if (!res.ok && res.status !== 404)
    return showErrors(byId('editor-errors', HTMLElement), issueLines(res.data))
  state.record = null
  showSelection()
  await loadUsers()
}

function newUser() {
  state.record = { userToken: 'usr_new' }
  state.editorMode = 'new'
  showSelection()
  byId('editor', HTMLTextAreaElement).value = JSON.stringify(
    { userToken: 'usr_new', name: 'New Customer', email: 'new@example.com', plan: 'free', fields: {} },
    null,
    2,
  )
  replace(byId('editor-errors', HTMLElement))
  byId('editor-saved', HTMLElement).textContent = ''
  byId('editor', HTMLTextAreaElement).focus()
  renderUsers()
}

// ---------------------------------------------------------------------------------------------------
// Live request log

const VERDICT_WORDS = {
  valid: 'signature valid',
  missing_signature: 'no signature header',
  malformed_signature: 'signature not 64 hex digits',
  invalid_signature: 'signature does not match',
}

/** @param {Findings} f @returns {string[]} */
function findingWords(f) {
  /** @type {string[]} */
  const words = []
  if (f.trailingNewlineAdded)
    words.push(
      'The sender signed the body with a newline added at the end (echo instead of printf?), then sent it without.',
    )
  if (f.trailingNewlineRemoved)
    words.push('The body ends with a newline that was not signed: it was added after signing.')
  if (f.reserialized)
    words.push(
      'The sender signed re-serialised JSON, not the bytes it sent (whitespace or key order differ): sign the exact raw body.',
    )
  if (f.secretWhitespace)
    words.push('The sender signed with the secret plus a trailing newline (copied from a file?).')
  if (words.length === 0)
    words.push('No near variant fits: a different secret, or the body changed after signing.')
  return words
}

/** @param {LogEntry} e */
function statusText(e) {
  if (e.status !== null) return String(e.status)
  if (e.callerGaveUpMs !== null) return 'gave up'
  if (e.scenario === 'reset' || e.scenario === 'down') return 'reset'
  if (e.scenario === 'hang') return 'closed'
  return 'no answer'
}

/** How Talki reads this outcome (SPEC §5: refused, reset, no answer in 5 s or a 5xx is retried once). @param {LogEntry} e */
function talkiReads(e) {
  if (e.callerGaveUpMs !== null) return 'Talki counts a timeout as down: it retries once after 3 s'
  if (e.status === null)
    return e.verdict === null ? null : 'no answer: Talki counts this as down and retries once after 3 s'
  if (e.status >= 500) return `${e.status}: Talki counts this as down and retries once after 3 s`
  if (e.status >= 400) return `${e.status} is an answer: Talki shows nothing and does not retry`
  if (e.scenario === 'malformed') return 'a 200 whose body is not JSON: Talki shows nothing'
  if (e.scenario === 'wrong_shape') return 'a 200 that breaks the contract: Talki may show nothing'
  return null
}

/** @param {number | null} status */
function statusTone(status) {
  if (status === null) return 'bad'
  if (status < 300) return 'good'
  if (status < 500) return 'warn'
  return 'bad'
}

/** @param {LogEntry} e */
function renderEntry(e) {
  const waited = e.callerGaveUpMs ?? e.latencyMs
  const over = waited > TALKI_BUDGET_MS
  const gaveUp = e.callerGaveUpMs !== null
  const bar = h('span', { class: `bar-fill ${over || gaveUp ? 'bad' : waited > 4000 ? 'warn' : 'good'}` })
  bar.style.width = `${Math.min(100, (waited / TALKI_BUDGET_MS) * 100)}%`
  const verdict = e.verdict
  const time = new Date(e.time)
  /** @type {Array<HTMLElement | null>} */
  const notes = []
  if (e.callerGaveUpMs !== null) notes.push(h('li', {}, `Talki gave up after ${seconds(e.callerGaveUpMs)}`))
  if (e.sincePreviousMs !== null) {
    const retry = Math.abs(e.sincePreviousMs - TALKI_RETRY_MS) <= 600
    notes.push(
      h(
        'li',
        {},
        retry
          ? `retry after ${seconds(e.sincePreviousMs)} (Talki retries once after 3 s)`
          : `${seconds(e.sincePreviousMs)} after the previous request for this user`,
      ),
    )
  }
  const talki = talkiReads(e)
  if (talki) notes.push(h('li', {}, talki))
  if (verdict === 'invalid_signature' && e.findings)
    for (const w of findingWords(e.findings)) notes.push(h('li', { class: 'finding' }, w))
  if (e.status === null && e.scenario === null && e.callerGaveUpMs === null)
    notes.push(h('li', {}, 'the request was aborted'))
  return h(
    'li',
    { class: `entry ${statusTone(e.status)}`, 'data-id': e.id, 'data-token': e.token ?? '' },
    h(
      'div',
      { class: 'entry-line' },
      h(
        'time',
        { class: 'mono small muted', datetime: e.time },
        time.toLocaleTimeString([], { hour12: false }),
      ),
      h('span', { class: `badge status ${statusTone(e.status)}`, title: 'HTTP status' }, statusText(e)),
      e.token !== null
        ? h(
            'button',
            {
              type: 'button',
              class: 'link mono',
              onclick: () => selectUser(e.token ?? ''),
              title: 'Select this user',
            },
            e.token,
          )
        : h('span', { class: 'muted' }, '(no token)'),
      verdict === null
        ? h('span', { class: 'badge verdict muted' }, 'refused before the signature')
        : h(
            'span',
            { class: `badge verdict ${verdict === 'valid' ? 'good' : 'bad'}` },
            VERDICT_WORDS[/** @type {keyof typeof VERDICT_WORDS} */ (verdict)] ?? verdict,
          ),
      e.scenario !== null ? h('span', { class: 'badge sim' }, `⚡ ${e.scenario}`) : null,
    ),
    h(
      'div',
      { class: 'entry-time' },
      h('span', { class: 'bar', 'aria-hidden': 'true' }, bar),
      h(
        'span',
        { class: `small ${over || gaveUp ? 'bad-text' : ''}` },
        `${latency(waited)} of 5 s${gaveUp ? ' — no answer' : over ? ' — past Talki’s budget' : ''}`,
      ),
    ),
    notes.length > 0 ? h('ul', { class: 'notes small' }, ...notes) : null,
  )
}

/** @param {LogEntry[]} entries newest first */
function addEntries(entries) {
  const known = new Set(state.log.map((e) => e.id))
  const fresh = entries.filter((e) => !known.has(e.id))
  if (fresh.length === 0) return
  state.log = [...fresh, ...state.log].sort((a, b) => b.id - a.id).slice(0, MAX_LOG)
  renderLog()
}

function renderLog() {
  replace(byId('log-list', HTMLElement), ...state.log.map(renderEntry))
  byId('log-empty', HTMLElement).hidden = state.log.length > 0
  const held = byId('log-paused', HTMLElement)
  held.hidden = !state.paused
  held.textContent = `Paused — ${state.held.length} new request${state.held.length === 1 ? '' : 's'} waiting.`
}

/** @param {LogEntry} entry */
function onEntry(entry) {
  if (entry.scenario === 'down' && entry.token) noteDowntime(entry)
  if (state.paused) {
    state.held.push(entry)
    renderLog()
  } else addEntries([entry])
}

/** A user's own `down` took the port down: how long comes from that user's record. @param {LogEntry} entry */
async function noteDowntime(entry) {
  const res = await api('GET', `/api/users/${encodeURIComponent(entry.token ?? '')}`)
  const spec = res.ok ? /** @type {any} */ (asObject(res.data.simulate ?? 'ok')) : null
  const duration = spec?.scenario === 'down' ? (spec.durationMs ?? 10000) : 10000
  state.down = { until: Date.parse(entry.time) + duration, cause: `${entry.token}’s own scenario` }
  renderEndpointStatus()
}

/** @type {EventSource | null} */
let stream = null

function connectStream() {
  stream?.close()
  const url = `/api/requests/stream${state.adminToken ? `?token=${encodeURIComponent(state.adminToken)}` : ''}`
  const source = new EventSource(url)
  stream = source
  const label = byId('stream-state', HTMLElement)
  source.onopen = () => {
    label.textContent = '● live'
    label.className = 'live small'
    // Whatever arrived while the stream was closed.
    void loadLog()
  }
  source.onmessage = (event) => {
    try {
      onEntry(JSON.parse(event.data))
    } catch {
      // A line that is not an entry is ignored.
    }
  }
  source.onerror = () => {
    label.textContent = '○ reconnecting…'
    label.className = 'muted small'
    if (source.readyState === EventSource.CLOSED) {
      // Refused (e.g. 401 after the token changed): try again shortly with the current token.
      setTimeout(() => {
        if (stream === source) connectStream()
      }, 2000)
    }
  }
}

async function loadLog() {
  const res = await api('GET', '/api/requests?limit=100')
  if (res.ok) addEntries(res.data.requests)
}

// ---------------------------------------------------------------------------------------------------
// Wiring

async function readEndpointShape() {
  // The endpoint path and token field come from the OpenAPI document (ENDPOINT_PATH, USER_TOKEN_FIELD).
  const res = await api('GET', '/api/openapi.json')
  if (!res.ok) return
  const doc = res.data
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (item?.post?.tags?.includes('endpoint')) state.endpoint.path = path
  }
  const field = Object.keys(doc.components?.schemas?.CustomerRequest?.properties ?? {})[0]
  if (field) state.endpoint.field = field
}

function wire() {
  renderSwitches()
  byId('override-form', HTMLFormElement).addEventListener('submit', (event) => {
    event.preventDefault()
    void applyOverride(overrideFromForm())
  })
  byId('clear', HTMLButtonElement).addEventListener('click', async () => {
    replace(byId('override-errors', HTMLElement))
    await api('DELETE', '/api/simulation')
    state.down = null
    await refreshSimulation()
  })
  byId('apply-custom', HTMLButtonElement).addEventListener('click', () => {
    const errors = byId('override-errors', HTMLElement)
    try {
      void applyOverride(JSON.parse(byId('custom-json', HTMLTextAreaElement).value))
    } catch (error) {
      showErrors(errors, [`Not valid JSON: ${error instanceof Error ? error.message : String(error)}`])
    }
  })
  byId('reset', HTMLButtonElement).addEventListener('click', async () => {
    if (
      !confirm('Reset: clear the global override, every sequence and the request log, and end any downtime?')
    )
      return
    await api('POST', '/api/reset')
    state.down = null
    state.log = []
    state.held = []
    renderLog()
    await refreshSimulation()
  })

  let searchTimer = 0
  byId('search', HTMLInputElement).addEventListener('input', (event) => {
    clearTimeout(searchTimer)
    searchTimer = window.setTimeout(() => {
      state.users.q = /** @type {HTMLInputElement} */ (event.target).value.trim()
      state.users.offset = 0
      void loadUsers()
    }, 200)
  })
  byId('prev', HTMLButtonElement).addEventListener('click', () => {
    state.users.offset = Math.max(0, state.users.offset - state.users.limit)
    void loadUsers()
  })
  byId('next', HTMLButtonElement).addEventListener('click', () => {
    state.users.offset += state.users.limit
    void loadUsers()
  })
  byId('limit', HTMLSelectElement).addEventListener('change', (event) => {
    state.users.limit = Number(/** @type {HTMLSelectElement} */ (event.target).value)
    state.users.offset = 0
    void loadUsers()
  })
  byId('new-user', HTMLButtonElement).addEventListener('click', newUser)
  byId('save', HTMLButtonElement).addEventListener('click', () => void saveEditor())
  byId('revert', HTMLButtonElement).addEventListener('click', () => {
    if (state.editorMode === 'new') return newUser()
    if (state.record) void selectUser(state.record.userToken)
  })
  byId('delete', HTMLButtonElement).addEventListener('click', () => void deleteSelected())
  byId('endpoint-port', HTMLInputElement).addEventListener('input', renderCommands)

  byId('pause', HTMLButtonElement).addEventListener('click', (event) => {
    const button = /** @type {HTMLButtonElement} */ (event.currentTarget)
    state.paused = !state.paused
    button.setAttribute('aria-pressed', String(state.paused))
    button.textContent = state.paused ? 'Resume' : 'Pause'
    if (!state.paused) {
      const held = state.held
      state.held = []
      addEntries(held)
    }
    renderLog()
  })
  byId('clear-log', HTMLButtonElement).addEventListener('click', async () => {
    await api('DELETE', '/api/requests')
    state.log = []
    state.held = []
    renderLog()
  })
  byId('token-dialog', HTMLDialogElement).addEventListener('cancel', (event) => event.preventDefault())
}

async function start() {
  wire()
  renderLog()
  // The first call asks for the token if the server needs one; the rest then go through.
  await refreshSimulation()
  await Promise.all([readEndpointShape(), loadUsers(), loadLog()])
  renderCommands()
  connectStream()
  let polling = false
  setInterval(async () => {
    if (polling || tokenPrompt) return
    polling = true
    try {
      await refreshSimulation()
    } finally {
      polling = false
    }
  }, POLL_MS)
  // The countdown ticks between polls.
  setInterval(() => {
    if (state.down) renderEndpointStatus()
  }, 1000)
  document.body.dataset.ready = 'true'
}

void start()
