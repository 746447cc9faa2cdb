// `npm run bench:startup`: how long a person waits, side by side with bare Node in one run. Each round runs
// every subject once, in turn: `node -e 0`; the server (`node dist/mock/main.js` and `npm start` on an
// unchanged built tree) until its `endpoint listening` line, both ports open; and every `talki-endpoint`
// command to its exit (send and check against that server). Medians over the rounds; the table goes to
// stdout and into bench/RESULTS.md between its own marks. Flags: --rounds N (default 10), --skip-results.

import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { killAll, startUntilReady } from './lib/children.js'
import { freePort } from './lib/harness.js'
import { machineLines, median, writeResults } from './lib/report.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SECRET = 'bench-startup-secret-5d1e'
const CLI = join(root, 'dist/cli/main.js')
const SERVER = join(root, 'dist/mock/main.js')
const MARKS = {
  begin: '<!-- startup:begin (written by npm run bench:startup; edit outside the markers) -->',
  end: '<!-- startup:end -->',
}
/** The start-up bounds (README, "Start-up"): the server within 1.5 s of `node dist/mock/main.js`, each command within 250 ms of `node -e 0`. */
const SERVER_BOUND_MS = 1500
const CLI_BOUND_MS = 250
const READY_TIMEOUT_MS = 30_000

/** GNU time, when installed, gives each command's CPU time (user + system): what the cores spent, which other work on the machine moves far less than wall time. */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100

const { values } = parseArgs({ options: { rounds: { type: 'string' }, 'skip-results': { type: 'boolean' } } })
const rounds = Number(values.rounds ?? 10)
const say = (line: string) => process.stderr.write(`bench:startup: ${line}\n`)

/** Wall time from spawn to exit, CPU time (when GNU time is there) and what it printed; the exit code must be 0. */
function timeToExit(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; cpuMs: number | undefined; stdout: string }> {
  const started = performance.now()
  const cpuFile = join(os.tmpdir(), `talki-startup-cpu-${process.pid}`)
  const [file, argv] = TIME ? [TIME, ['-o', cpuFile, '-f', '%U %S', command, ...args]] : [command, args]
  return new Promise((resolveTime, reject) => {
    const child = spawn(file, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.once('error', reject)
    child.once('close', (code) => {
      const ms = performance.now() - started
      const cpuMs = TIME
        ? readFileSync(cpuFile, 'utf8')
            .trim()
            .split(/\s+/)
            .reduce((sum, seconds) => sum + Number(seconds) * 1000, 0)
        : undefined
      if (code === 0) resolveTime({ ms, cpuMs, stdout })
      else reject(new Error(`${command} ${args.join(' ')}: exit ${code}\n${stdout}\n${stderr}`))
    })
  })
}

/**
 * The time a command spent on its requests, as it reports them (send: each "attempt N: 200 in X ms", check:
 * its summary's "in X ms"), so that its start-up is the rest: wall time to exit minus the network work.
 */
function requestsMs(stdout: string): number {
  const attempts = [...stdout.matchAll(/^attempt \d+: \d+ in (\d+) ms/gm)].map((match) => Number(match[1]))
  if (attempts.length > 0) return attempts.reduce((sum, value) => sum + value, 0)
  const summary = /passed, \d+ failed, \d+ warnings? in (\d+) ms/.exec(stdout)
  return summary ? Number(summary[1]) : 0
}

interface Running {
  ms: number
  /** CPU time of the process group until ready (its exited children included), from /proc. */
  cpuMs: number
  url: string
  stop(): Promise<void>
}

/** User + system CPU of every process in group `pgid`, with the children they have waited for. */
function groupCpuMs(pgid: number): number {
  let ticks = 0
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the command's closing parenthesis: state, ppid, pgrp, … utime, stime, cutime, cstime.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) !== pgid) continue
    for (const index of [11, 12, 13, 14]) ticks += Number(fields[index])
  }
  return (ticks * 1000) / TICKS_PER_S
}

/** Wall time from spawn to the `endpoint listening` line (logged once both ports listen). */
async function timeToReady(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Running> {
  const ready = await startUntilReady(command, args, {
    cwd: root,
    env,
    isReady: (line) => line.includes('"msg":"endpoint listening"'),
    timeoutMs: READY_TIMEOUT_MS,
  })
  return {
    ms: ready.ms,
    cpuMs: groupCpuMs(ready.child.pid as number),
    url: String((JSON.parse(ready.line) as { url: string }).url),
    stop: () => ready.stop(),
  }
}

const ms = (value: number) => `${Math.round(value)}`
const plus = (value: number) => `${value < 0 ? '−' : '+'}${ms(Math.abs(value))}`

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'talki-startup-'))
  const dataFile = join(dir, 'db.json')
  copyFileSync(join(root, 'data/seed.json'), dataFile)
  const base = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    npm_config_update_notifier: 'false',
  }
  const serverEnv = async () => ({
    ...base,
    PORT: '0',
    ADMIN_PORT: String(await freePort()),
    DATA_FILE: dataFile,
    TALKI_SECRET: SECRET,
  })
  const cliEnv = { ...base, TALKI_SECRET: SECRET }
  const samples = new Map<string, number[]>()
  const cpu = new Map<string, number[]>()
  const add = (name: string, value: number, cpuMs?: number) => {
    samples.set(name, [...(samples.get(name) ?? []), value])
    if (cpuMs !== undefined) cpu.set(name, [...(cpu.get(name) ?? []), cpuMs])
  }

  // Build once if needed, outside the timings (as `npm start` would do on its first run).
  await timeToExit(process.execPath, [join(root, 'scripts/build-if-changed.mjs')], base)
  const target = await timeToReady(process.execPath, [SERVER], await serverEnv())
  const url = target.url
  try {
    for (let round = 1; round <= rounds; round++) {
      say(`round ${round} of ${rounds}`)
      const bare = await timeToExit(process.execPath, ['-e', '0'], base)
      add('node -e 0', bare.ms, bare.cpuMs)
      for (const [name, command, args] of [
        ['node dist/mock/main.js', process.execPath, [SERVER]],
        ['npm start', 'npm', ['start', '--silent']],
      ] as const) {
        const running = await timeToReady(command, [...args], await serverEnv())
        add(name, running.ms, running.cpuMs)
        await running.stop()
      }
      const commands: [string, string[]][] = [
        ['help', ['help']],
        ['sign', ['sign', '{"userToken":"usr_abc123"}']],
        ['send', ['send', 'usr_abc123', '--url', url]],
        ['check', ['check', '--token', 'usr_abc123', '--url', url]],
        ['seed', ['seed', '--out', join(dir, 'seed.json')]],
      ]
      for (const [name, args] of commands) {
        const { ms: wall, cpuMs, stdout } = await timeToExit(process.execPath, [CLI, ...args], cliEnv)
        add(`talki-endpoint ${name}`, wall, cpuMs)
        const work = requestsMs(stdout)
        if (work > 0) add(`talki-endpoint ${name}, start-up (requests' own time taken off)`, wall - work)
      }
      const viaNpm = await timeToExit('npm', ['run', '--silent', 'cli', '--', 'help'], cliEnv)
      add('npm run cli -- help', viaNpm.ms, viaNpm.cpuMs)
    }
  } finally {
    await target.stop()
    rmSync(dir, { recursive: true, force: true })
    rmSync(join(os.tmpdir(), `talki-startup-cpu-${process.pid}`), { force: true })
  }

  const seedUsers = (JSON.parse(readFileSync(join(root, 'data/seed.json'), 'utf8')) as { users: unknown[] })
    .users.length
  const node = median(samples.get('node -e 0') ?? [])
  const server = median(samples.get('node dist/mock/main.js') ?? [])
  const rows = [...samples].map(([name, values]) => {
    const m = median(values)
    let against = ''
    let bound = ''
    if (name === 'npm start') {
      against = `${plus(m - server)} over node dist/mock/main.js`
      bound = `${m - server <= SERVER_BOUND_MS ? 'within' : 'NOT within'} ${SERVER_BOUND_MS}`
    } else if (name.startsWith('talki-endpoint') && !/^talki-endpoint (send|check)$/.test(name)) {
      against = `${plus(m - node)} over node -e 0`
      bound = `${m - node <= CLI_BOUND_MS ? 'within' : 'NOT within'} ${CLI_BOUND_MS}`
    } else if (name !== 'node -e 0') against = `${plus(m - node)} over node -e 0`
    const cpuValues = cpu.get(name)
    const cpuMedian = cpuValues ? ms(median(cpuValues)) : '–'
    return `| ${name} | ${ms(m)} | ${ms(Math.min(...values))}–${ms(Math.max(...values))} | ${against} | ${bound} | ${cpuMedian} |`
  })
  const section = [
    '## Start-up',
    '',
    `${new Date().toISOString()} — \`npm run bench:startup${rounds === 10 ? '' : ` -- --rounds ${rounds}`}\``,
    '',
    ...machineLines(),
    '',
    `${rounds} rounds; each runs every line once, in turn, so all share the machine's state. The server lines run to`,
    `the \`endpoint listening\` line (both ports open, store loaded: \`data/seed.json\`, ${seedUsers} users); \`npm start\` on an`,
    'unchanged built tree (its `prestart` only compares modification times). The CLI lines run to exit;',
    '`send` and `check` against a running server (check sends its requests one at a time); their start-up',
    'lines take off the time their requests took, as each reports it, and carry the bound. CPU ms is user +',
    'system time (GNU time for a command; /proc for a server up to ready, its whole process group): what the',
    'cores spent, which other work on a shared machine moves far less than the wall times (10 ms steps).',
    '',
    `Load average at the end: ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(', ')} (1, 5, 15 min) on ${os.availableParallelism()} cores: other work shares them.`,
    '',
    '| what | median ms | min–max ms | against | bound ms | CPU ms (median) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n')
  process.stdout.write(`${section}\n`)
  if (!values['skip-results']) await writeResults(join(root, 'bench/RESULTS.md'), section, MARKS)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}
process.once('exit', killAll)

await main()
