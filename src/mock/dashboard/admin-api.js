// @ts-check
// The admin API client: every fetch of the dashboard goes through here. With ADMIN_TOKEN set, the first
// 401 opens the token dialog (once, however many calls are waiting); the token is kept for the tab in
// sessionStorage. The SSE stream carries it as ?token=, since EventSource cannot send headers.
import { byId } from './dom.js'

const TOKEN_KEY = 'talki-admin-token'

/** @type {string | null} */
let adminToken = sessionStorage.getItem(TOKEN_KEY)
/** @type {Promise<void> | null} */
let tokenPrompt = null

/** @typedef {{ status: number, ok: boolean, data: any }} ApiResponse */

/** Whether the token dialog is open (pollers wait). */
export function waitingForToken() {
  return tokenPrompt !== null
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<ApiResponse>}
 */
export async function request(method, path, body) {
  for (;;) {
    /** @type {Record<string, string>} */
    const headers = {}
    const sent = adminToken
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
      if (adminToken === sent) {
        if (sent) {
          adminToken = null
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

/** The refusal of an API call as lines: its issues (`path: message`), else its error code. @param {any} data */
export function issueLines(data) {
  if (data && Array.isArray(data.issues) && data.issues.length > 0) {
    return data.issues.slice(0, 12).map((/** @type {any} */ issue) => {
      const where = Array.isArray(issue.path) && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
      return `${where}${String(issue.message)}`
    })
  }
  return [data && typeof data.error === 'string' ? data.error : 'the request failed']
}

/**
 * The live request log. Reconnects by itself; refused (e.g. 401 after the token changed), it tries
 * again shortly with the current token.
 * @param {{ onEntry: (entry: unknown) => void, onOpen: () => void, onError: () => void }} handlers
 */
export function openStream(handlers) {
  /** @type {EventSource | null} */
  let current = null
  const connect = () => {
    current?.close()
    const source = new EventSource(
      `/api/requests/stream${adminToken ? `?token=${encodeURIComponent(adminToken)}` : ''}`,
    )
    current = source
    source.onopen = handlers.onOpen
    source.onmessage = (event) => {
      let entry
      try {
        entry = JSON.parse(event.data)
      } catch {
        return // a line that is not an entry is ignored
      }
      handlers.onEntry(entry)
    }
    source.onerror = () => {
      handlers.onError()
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          if (current === source) connect()
        }, 2000)
      }
    }
  }
  connect()
}

/** Escape does not close the token dialog: nothing works without the token. @param {Event} event */
function keepOpen(event) {
  event.preventDefault()
}

/**
 * Shows the token dialog and resolves when a token is entered.
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
  dialog.addEventListener('cancel', keepOpen)
  tokenPrompt = new Promise((resolve) => {
    /** @param {SubmitEvent} event */
    const submitted = (event) => {
      event.preventDefault()
      const value = input.value.trim()
      if (!value) return
      form.removeEventListener('submit', submitted)
      adminToken = value
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
