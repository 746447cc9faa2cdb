// @ts-check
// The QA dashboard: plain DOM and ES modules, no framework, no build step. Each module owns its state:
// admin-api.js (the admin API and its token), engines.js (the engines in use), scenarios.js (the override,
// downtime), users.js (the list and the selection), editor.js, sidebar.js, commands.js, request-log.js;
// model.js is pure.
import { issueLines, request } from './admin-api.js'
import { startCommands } from './commands.js'
import { byId } from './dom.js'
import { startEditor } from './editor.js'
import { startEngines } from './engines.js'
import { setTalkiTiming, talkiPause, talkiWait } from './model.js'
import { clearShown, startRequestLog } from './request-log.js'
import { refreshSimulation, startScenarios } from './scenarios.js'
import { startSidebar } from './sidebar.js'
import { loadUsers, reselect, startUsers } from './users.js'

/** The endpoint path and token field, from the OpenAPI document (ENDPOINT_PATH, USER_TOKEN_FIELD). */
async function readEndpoint() {
  const endpoint = { path: '/talki/customer', field: 'userToken' }
  const res = await request('GET', '/api/openapi.json')
  if (!res.ok) return endpoint
  for (const [path, item] of Object.entries(res.data.paths ?? {})) {
    if (/** @type {any} */ (item)?.post?.tags?.includes('endpoint')) endpoint.path = path
  }
  const field = Object.keys(res.data.components?.schemas?.CustomerRequest?.properties ?? {})[0]
  if (field) endpoint.field = field
  return endpoint
}

/** Talki's timeout and retry delay this server plays (TALKI_TIMING), read before anything shows time. */
async function readTalkiTiming() {
  const res = await request('GET', '/api/timing')
  if (!res.ok) return
  setTalkiTiming(res.data)
  byId('talki-budget', HTMLElement).textContent = talkiWait()
  if (res.data.timing === 'real') return
  const line = byId('talki-timing', HTMLElement)
  line.textContent = `TALKI_TIMING=${res.data.timing}: Talki's timeout is ${talkiWait()} and its retry comes after ${talkiPause()} (Talki's own: 5 s and 3 s)`
  line.hidden = false
}

async function start() {
  // The first call asks for the token if the server needs one; the rest then go through.
  const scenarios = await request('GET', '/api/scenarios')
  if (!scenarios.ok) throw new Error(`GET /api/scenarios answered ${scenarios.status}`)
  const catalogue = scenarios.data
  const endpoint = await readEndpoint()
  await readTalkiTiming()

  startScenarios(catalogue)
  startSidebar(catalogue)
  startEditor()
  startCommands(endpoint)
  /** @param {string} question @param {unknown} [body] */
  const reset = async (question, body) => {
    if (!confirm(question)) return
    const res = await request('POST', '/api/reset', body)
    if (!res.ok) return alert(`Nothing was reset: ${issueLines(res.data).join('; ')}`)
    clearShown()
    await Promise.all([refreshSimulation(), loadUsers(), reselect()])
  }
  const everything = 'clear the global override, every sequence and the request log, and end any downtime'
  byId('reset', HTMLButtonElement).addEventListener('click', () => reset(`Reset: ${everything}?`))
  byId('reset-seed', HTMLButtonElement).addEventListener('click', () =>
    reset(`Reset: ${everything}, and put back the users of data/seed.json (edits and new users are lost)?`, {
      users: 'seed',
    }),
  )
  await Promise.all([
    startEngines(),
    refreshSimulation(),
    startUsers(catalogue),
    // A user's own `down` closes the port: ask for downUntil at once rather than at the next poll.
    startRequestLog({ onEntry: (entry) => entry.scenario === 'down' && void refreshSimulation() }),
  ])
  document.body.dataset.ready = 'true'
}

void start()
