// @ts-check
// "Try it": copyable commands that call the endpoint for the selected user as Talki does. The dashboard
// never sees the secret: the curl computes the signature in the user's shell from data/.secret.
import { byId, h, replace } from './dom.js'
import { talkiPause, talkiTiming, talkiWait } from './model.js'
import { selection } from './users.js'

/** @param {{ path: string, field: string }} endpoint where the endpoint listens and its token field */
export function startCommands(endpoint) {
  const render = () => renderCommands(endpoint)
  selection.subscribe(render)
  byId('endpoint-port', HTMLInputElement).addEventListener('input', render)
}

/** @param {string} text */
function shellQuote(text) {
  return /^[A-Za-z0-9_.:@%+=,/-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`
}

/** @param {{ path: string, field: string }} endpoint */
function renderCommands(endpoint) {
  const user = selection.get().record
  const el = byId('commands', HTMLElement)
  if (!user) return replace(el)
  const portInput = byId('endpoint-port', HTMLInputElement)
  const port = portInput.value || portInput.defaultValue
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname
  const url = `http://${host}:${port}${endpoint.path}`
  // The CLI's own default URL needs no flag.
  const defaultUrl = url === `http://127.0.0.1:${portInput.defaultValue}/talki/customer`
  const token = shellQuote(user.userToken)
  const urlFlag = defaultUrl ? '' : ` --url ${url}`
  const fieldFlag = endpoint.field === 'userToken' ? '' : ` --field ${shellQuote(endpoint.field)}`
  // The CLI plays the same timing as this page only when told: TALKI_TIMING is not the server's to pass on.
  const timing = talkiTiming().timing === 'real' ? '' : `TALKI_TIMING=${talkiTiming().timing} `
  const body = JSON.stringify({ [endpoint.field]: user.userToken })
  const curl =
    `BODY='${body.replaceAll("'", "'\\''")}'; ` +
    `curl -s ${url} -H 'Content-Type: application/json' ` +
    `-H "X-Talki-Signature: $(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$(cat data/.secret)" | sed 's/^.* //')" ` +
    `-d "$BODY"`
  replace(
    el,
    commandBlock(
      `Play Talki (${talkiWait()} timeout, one retry after ${talkiPause()})`,
      `${timing}talki-endpoint send ${token}${urlFlag}${fieldFlag}`,
    ),
    commandBlock(
      'The same from the project folder',
      `${timing}npm run cli -- send ${token}${urlFlag}${fieldFlag}`,
    ),
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
