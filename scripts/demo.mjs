#!/usr/bin/env node
// `npm run demo`: the mock with TALKI_TIMING=demo (Talki's 5 s timeout and 3 s retry delay scaled down, so a
// slow or down endpoint leaves no dead air on a video), its data in data/demo.json (created from
// data/seed.json on first start), and a short numbered script of what to do, printed once the ports listen
// (READY_FILE gives their real URLs). The server itself is dist/mock/main.js (or the entry given as the one
// argument: test/mock/demo.test.ts runs its own build); Ctrl-C stops it.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dataFile = process.env.DATA_FILE || 'data/demo.json'
const readyDir = mkdtempSync(join(tmpdir(), 'talki-demo-'))
const readyFile = join(readyDir, 'ready.json')
const env = { ...process.env, TALKI_TIMING: 'demo', DATA_FILE: dataFile, READY_FILE: readyFile }

const entry = process.argv[2] ?? join(root, 'dist/mock/main.js')
const server = spawn(process.execPath, [entry], {
  cwd: process.cwd(),
  env,
  stdio: 'inherit',
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code, signal) => {
  clearInterval(poll)
  rmSync(readyDir, { recursive: true, force: true })
  process.exitCode = code ?? (signal ? 1 : 0)
})

const poll = setInterval(() => {
  let urls
  try {
    urls = JSON.parse(readFileSync(readyFile, 'utf8'))
  } catch {
    return
  }
  clearInterval(poll)
  process.stdout.write(script(urls))
}, 100)

/** @param {{ endpoint: string, admin: string | null }} urls */
function script({ endpoint, admin }) {
  const url = endpoint === 'http://127.0.0.1:3000/talki/customer' ? '' : ` --url ${endpoint}`
  const send = (token) => `TALKI_TIMING=demo DATA_FILE=${dataFile} npm run cli -- send ${token}${url}`
  const api = admin ?? 'http://127.0.0.1:3001/'
  const json = `-H 'Content-Type: application/json'`
  const auth = process.env.ADMIN_TOKEN ? ` -H "Authorization: Bearer $ADMIN_TOKEN"` : ''
  return [
    '',
    "Demo: TALKI_TIMING=demo, Talki's timeout 1.5 s and its retry after 1 s (Talki's own: 5 s and 3 s).",
    `Dashboard: ${api}   Data: ${dataFile}. In a second terminal, from this folder:`,
    `  1. seed:          curl -s -X POST ${api}api/reset${auth} ${json} -d '{"users":"seed"}'`,
    `  2. send:          ${send('usr_abc123')}`,
    `  3. simulate slow: curl -s -X PUT ${api}api/simulation${auth} ${json} -d '{"scenario":"slow"}'`,
    `  4. see retry:     ${send('usr_abc123')}`,
    `  5. clear:         curl -s -X DELETE ${api}api/simulation${auth}`,
    '',
    '',
  ].join('\n')
}
