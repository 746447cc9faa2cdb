// @ts-check
// The user editor: the selected record as JSON, saved only when the admin API accepts it all (PUT
// replaces the whole record, as shown). Owns the text being edited; the selection belongs to users.js.
import { issueLines, request } from './admin-api.js'
import { byId, replace, showErrors } from './dom.js'
import { loadUsers, selection, setSelection } from './users.js'

const TEMPLATE = {
  userToken: 'usr_new',
  name: 'New Customer',
  email: 'new@example.com',
  plan: 'free',
  fields: {},
}

export function startEditor() {
  selection.subscribe(({ record, mode }) => {
    byId('delete', HTMLButtonElement).hidden = mode === 'new'
    if (record && mode === 'edit') editorText(record)
    clearMessages()
  })
  byId('new-user', HTMLButtonElement).addEventListener('click', newUser)
  byId('save', HTMLButtonElement).addEventListener('click', () => void save())
  byId('revert', HTMLButtonElement).addEventListener('click', () => {
    const { record, mode } = selection.get()
    if (mode === 'new') newUser()
    else if (record) editorText(record)
    clearMessages()
  })
  byId('delete', HTMLButtonElement).addEventListener('click', () => void remove())
}

/** @param {unknown} value */
function editorText(value) {
  byId('editor', HTMLTextAreaElement).value = JSON.stringify(value, null, 2)
}

function clearMessages() {
  replace(byId('editor-errors', HTMLElement))
  byId('editor-saved', HTMLElement).textContent = ''
}

/** @param {string[]} lines */
function refuse(lines) {
  showErrors(byId('editor-errors', HTMLElement), lines)
}

function newUser() {
  setSelection({ record: { userToken: TEMPLATE.userToken }, mode: 'new' })
  editorText(TEMPLATE)
  byId('editor', HTMLTextAreaElement).focus()
}

async function save() {
  clearMessages()
  /** @type {any} */
  let record
  try {
    record = JSON.parse(byId('editor', HTMLTextAreaElement).value)
  } catch (error) {
    return refuse([
      `Not valid JSON: ${error instanceof Error ? error.message : String(error)}. Nothing was saved.`,
    ])
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return refuse(['The record must be a JSON object. Nothing was saved.'])
  }
  if (typeof record.userToken !== 'string' || record.userToken === '') {
    return refuse(['userToken: a non-empty string is required. Nothing was saved.'])
  }
  const token = record.userToken
  const { record: current, mode } = selection.get()
  if (mode === 'new' || current?.userToken !== token) {
    // A new token must not replace someone else's record.
    const existing = await request('GET', `/api/users/${encodeURIComponent(token)}`)
    if (existing.ok) {
      return refuse([
        `userToken: ${token} exists already — select it in the list to edit it. Nothing was saved.`,
      ])
    }
  }
  const res = await request('PUT', `/api/users/${encodeURIComponent(token)}`, record)
  if (!res.ok) return refuse([...issueLines(res.data), 'Nothing was saved.'])
  setSelection({ record: res.data, mode: 'edit' })
  byId('editor-saved', HTMLElement).textContent =
    res.status === 201 ? `Created ${token}.` : 'Saved. The endpoint serves the change from the next request.'
  await loadUsers()
}

async function remove() {
  const user = selection.get().record
  if (!user) return
  if (!confirm(`Delete user ${user.userToken}? The endpoint will answer 404 for it.`)) return
  const res = await request('DELETE', `/api/users/${encodeURIComponent(user.userToken)}`)
  if (!res.ok && res.status !== 404) return refuse(issueLines(res.data))
  setSelection({ record: null, mode: 'edit' })
  await loadUsers()
}
