// @ts-check
// The live request log: every POST to the endpoint, newest first, from GET /api/requests and then the
// SSE stream. Owns the entries shown, the pause and what arrived while paused.
import { openStream, request } from './admin-api.js'
import { byId, h, replace } from './dom.js'
import {
  latency,
  looksLikeRetry,
  plural,
  seconds,
  talkiPause,
  talkiReads,
  talkiTiming,
  talkiWait,
} from './model.js'
import { selectUser } from './users.js'

/**
 * @typedef {{ trailingNewlineAdded: boolean, trailingNewlineRemoved: boolean, reserialized: boolean, secretWhitespace: boolean }} Findings
 * @typedef {{ id: number, time: string, token: string | null, verdict: string | null, findings: Findings | null, scenario: string | null, status: number | null, latencyMs: number, callerGaveUpMs: number | null, sincePreviousMs: number | null, replica?: string }} LogEntry
 */

const MAX_SHOWN = 300
/** Past this share of Talki's budget the bar turns amber. */
const NEAR_BUDGET = 0.8

/** @type {LogEntry[]} */
let shown = []
/** @type {LogEntry[]} entries that arrived while paused */
let held = []
let paused = false

/** @param {{ onEntry: (entry: LogEntry) => void }} hooks called for each entry as it arrives */
export function startRequestLog(hooks) {
  byId('pause', HTMLButtonElement).addEventListener('click', (event) => {
    const button = /** @type {HTMLButtonElement} */ (event.currentTarget)
    paused = !paused
    button.setAttribute('aria-pressed', String(paused))
    button.textContent = paused ? 'Resume' : 'Pause'
    if (!paused) {
      const waiting = held
      held = []
      add(waiting)
    }
    render()
  })
  byId('clear-log', HTMLButtonElement).addEventListener('click', async () => {
    await request('DELETE', '/api/requests')
    clearShown()
  })
  render()
  const label = byId('stream-state', HTMLElement)
  openStream({
    onOpen: () => {
      label.textContent = '● live'
      label.className = 'live small'
      // Whatever arrived while the stream was closed.
      void load()
    },
    onError: () => {
      label.textContent = '○ reconnecting…'
      label.className = 'muted small'
    },
    onEntry: (entry) => {
      const e = /** @type {LogEntry} */ (entry)
      hooks.onEntry(e)
      if (paused) {
        held.push(e)
        render()
      } else add([e])
    },
  })
  return load()
}

/** After POST /api/reset: the server's log is empty. */
export function clearShown() {
  shown = []
  held = []
  render()
}

async function load() {
  const res = await request('GET', '/api/requests?limit=100')
  if (res.ok) add(res.data.requests)
}

/** @param {LogEntry[]} entries */
function add(entries) {
  const known = new Set(shown.map((e) => e.id))
  const fresh = entries.filter((e) => !known.has(e.id))
  if (fresh.length === 0) return
  shown = [...fresh, ...shown].sort((a, b) => b.id - a.id).slice(0, MAX_SHOWN)
  render()
}

function render() {
  replace(byId('log-list', HTMLElement), ...shown.map(renderEntry))
  byId('log-empty', HTMLElement).hidden = shown.length > 0
  const note = byId('log-paused', HTMLElement)
  note.hidden = !paused
  note.textContent = `Paused — ${plural(held.length, 'new request')} waiting.`
}

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
  if (f.trailingNewlineAdded) {
    words.push(
      'The sender signed the body with a newline added at the end (echo instead of printf?), then sent it without.',
    )
  }
  if (f.trailingNewlineRemoved)
    words.push('The body ends with a newline that was not signed: it was added after signing.')
  if (f.reserialized) {
    words.push(
      'The sender signed re-serialised JSON, not the bytes it sent (whitespace or key order differ): sign the exact raw body.',
    )
  }
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
  const gaveUp = e.callerGaveUpMs !== null
  const budget = talkiTiming().timeoutMs
  const late = gaveUp || waited > budget
  const bar = h('span', {
    class: `bar-fill ${late ? 'bad' : waited > NEAR_BUDGET * budget ? 'warn' : 'good'}`,
  })
  bar.style.width = `${Math.min(100, (waited / budget) * 100)}%`
  /** @type {HTMLElement[]} */
  const notes = []
  if (e.callerGaveUpMs !== null) notes.push(h('li', {}, `Talki gave up after ${seconds(e.callerGaveUpMs)}`))
  if (e.sincePreviousMs !== null) {
    notes.push(
      h(
        'li',
        {},
        looksLikeRetry(e.sincePreviousMs)
          ? `retry after ${seconds(e.sincePreviousMs)} (Talki retries once after ${talkiPause()})`
          : `${seconds(e.sincePreviousMs)} after the previous request for this user`,
      ),
    )
  }
  const talki = talkiReads(e)
  if (talki) notes.push(h('li', {}, talki))
  if (e.verdict === 'invalid_signature' && e.findings) {
    for (const w of findingWords(e.findings)) notes.push(h('li', { class: 'finding' }, w))
  }
  if (e.status === null && e.scenario === null && e.callerGaveUpMs === null)
    notes.push(h('li', {}, 'the request was aborted'))
  const token = e.token
  return h(
    'li',
    { class: `entry ${statusTone(e.status)}`, 'data-id': e.id, 'data-token': token ?? '' },
    h(
      'div',
      { class: 'entry-line' },
      h(
        'time',
        { class: 'mono small muted', datetime: e.time },
        new Date(e.time).toLocaleTimeString([], { hour12: false }),
      ),
      h('span', { class: `badge status ${statusTone(e.status)}`, title: 'HTTP status' }, statusText(e)),
      token !== null
        ? h(
            'button',
            {
              type: 'button',
              class: 'link mono',
              onclick: () => selectUser(token),
              title: 'Select this user',
            },
            token,
          )
        : h('span', { class: 'muted' }, '(no token)'),
      e.verdict === null
        ? h('span', { class: 'badge verdict muted' }, 'refused before the signature')
        : h(
            'span',
            { class: `badge verdict ${e.verdict === 'valid' ? 'good' : 'bad'}` },
            VERDICT_WORDS[/** @type {keyof typeof VERDICT_WORDS} */ (e.verdict)] ?? e.verdict,
          ),
      e.scenario !== null ? h('span', { class: 'badge sim' }, `⚡ ${e.scenario}`) : null,
      e.replica
        ? h('span', { class: 'badge replica mono small', title: 'the replica that served it' }, e.replica)
        : null,
    ),
    h(
      'div',
      { class: 'entry-time' },
      h('span', { class: 'bar', 'aria-hidden': 'true' }, bar),
      h(
        'span',
        { class: `small ${late ? 'bad-text' : ''}` },
        `${latency(waited)} of ${talkiWait()}${gaveUp ? ' — no answer' : late ? ' — past Talki’s budget' : ''}`,
      ),
    ),
    notes.length > 0 ? h('ul', { class: 'notes small' }, ...notes) : null,
  )
}
