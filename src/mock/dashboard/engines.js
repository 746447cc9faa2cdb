// @ts-check
// Which engines this server uses (GET /api/engines), shown in the header: owned here, read once, since
// they are fixed at start.
import { request } from './admin-api.js'
import { byId } from './dom.js'
import { enginesText } from './model.js'
import { signal } from './signal.js'

/** @typedef {import('./model.js').Engines} Engines */

const state = signal(/** @type {Engines | null} */ (null))
export const engines = state.view

export async function startEngines() {
  const line = byId('engines', HTMLElement)
  state.subscribe((value) => {
    line.textContent = value ? enginesText(value) : ''
  })
  const res = await request('GET', '/api/engines')
  if (res.ok) state.set(res.data)
  else line.textContent = `engines not known (GET /api/engines answered ${res.status})`
}
