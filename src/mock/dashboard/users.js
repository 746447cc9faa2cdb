// @ts-check
// The users: search, pages, and which one is selected (owned here; the editor, the sidebar and the
// commands watch it). A ⚡ badge marks every user that carries its own scenario.
import { request } from './admin-api.js'
import { byId, h, planBadge, replace } from './dom.js'
import { describeSpec, fillSpec, shortName } from './model.js'
import { signal } from './signal.js'

/**
 * @typedef {import('./model.js').Catalogue} Catalogue
 * @typedef {import('./model.js').Spec} Spec
 * @typedef {{ userToken: string, name?: string, email?: string, plan?: string, fields?: Record<string, string | number | boolean>, simulate?: Spec }} UserRecord
 * @typedef {{ record: UserRecord | null, mode: 'edit' | 'new' }} Selection
 *   `new`: a user not saved yet, being written in the editor
 */

const selected = signal(/** @type {Selection} */ ({ record: null, mode: 'edit' }))
export const selection = selected.view

const page = { q: '', offset: 0, limit: 25, total: 0, list: /** @type {UserRecord[]} */ ([]) }
/** @type {Catalogue} */
let catalogue

/** @param {Catalogue} given */
export function startUsers(given) {
  catalogue = given
  let searchTimer = 0
  byId('search', HTMLInputElement).addEventListener('input', (event) => {
    clearTimeout(searchTimer)
    searchTimer = window.setTimeout(() => {
      page.q = /** @type {HTMLInputElement} */ (event.target).value.trim()
      page.offset = 0
      void loadUsers()
    }, 200)
  })
  byId('prev', HTMLButtonElement).addEventListener('click', () => {
    page.offset = Math.max(0, page.offset - page.limit)
    void loadUsers()
  })
  byId('next', HTMLButtonElement).addEventListener('click', () => {
    page.offset += page.limit
    void loadUsers()
  })
  byId('limit', HTMLSelectElement).addEventListener('change', (event) => {
    page.limit = Number(/** @type {HTMLSelectElement} */ (event.target).value)
    page.offset = 0
    void loadUsers()
  })
  selected.subscribe(renderUsers)
  return loadUsers()
}

export async function loadUsers() {
  const query = new URLSearchParams({ offset: String(page.offset), limit: String(page.limit) })
  if (page.q) query.set('q', page.q)
  const res = await request('GET', `/api/users?${query}`)
  if (!res.ok) return
  page.total = res.data.total
  page.list = res.data.users
  renderUsers()
}

/** Selects a stored user (from the list or the request log). @param {string} token */
export async function selectUser(token) {
  const res = await request('GET', `/api/users/${encodeURIComponent(token)}`)
  if (res.ok) selected.set({ record: res.data, mode: 'edit' })
}

/** Reads the selected user again (after a reset); gone, nothing is selected. */
export async function reselect() {
  const { record, mode } = selected.get()
  if (!record || mode === 'new') return
  const res = await request('GET', `/api/users/${encodeURIComponent(record.userToken)}`)
  selected.set({ record: res.ok ? res.data : null, mode: 'edit' })
}

/** What the editor saved or started. @param {Selection} next */
export function setSelection(next) {
  selected.set(next)
}

/** @param {Spec | undefined} spec */
function simulateBadge(spec) {
  if (spec === undefined) return null
  const filled = fillSpec(spec, catalogue)
  return h(
    'span',
    { class: 'badge sim', title: `own scenario: ${describeSpec(filled)}` },
    `⚡ ${shortName(filled)}`,
  )
}

function renderUsers() {
  const { list, offset, total, limit } = page
  const current = selected.get().record?.userToken
  const ul = byId('user-list', HTMLElement)
  replace(
    ul,
    ...list.map((user) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'user-row',
            'aria-pressed': String(user.userToken === current),
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
  if (list.length === 0) ul.append(h('li', { class: 'muted' }, 'No user matches.'))
  byId('page-info', HTMLElement).textContent =
    total === 0 ? '0 users' : `${offset + 1}–${offset + list.length} of ${total}`
  byId('prev', HTMLButtonElement).disabled = offset === 0
  byId('next', HTMLButtonElement).disabled = offset + limit >= total
}
