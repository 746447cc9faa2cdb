import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { TARGET_NAMES, type TargetName } from '../targets/index.js'

export type { TargetName }

export interface Options {
  sizes: number[]
  /** Seconds of measured load per run. */
  duration: number
  /** Seconds of load before each measured run, same pool and connections, not recorded. */
  warmup: number
  rounds: number
  connections: number
  targets: TargetName[]
  smoke: boolean
  build: boolean
  slow: boolean
  dataDir: string
  /** Where the results section is written; null in smoke mode. */
  resultsFile: string | null
  /** How many pre-signed requests the load rotates through. */
  poolSize: number
  /** Where each server writes a V8 CPU profile (node --cpu-prof), or null. */
  cpuProfDir: string | null
}

export const USAGE = `npm run bench -- [options]
  --sizes 1000,100000,1000000   store sizes (users)            env BENCH_SIZES
  --duration 10                 seconds measured per run        env BENCH_DURATION
  --warmup 3                    seconds of warm-up per run      env BENCH_WARMUP
  --rounds 3                    A B A B rounds (medians)        env BENCH_ROUNDS
  --connections 50              autocannon connections          env BENCH_CONNECTIONS
  --targets project-warn,project-info,project-info-no-metrics,project-lean,project-redis,project-engines,vendor,bare,bare-headers
                                env BENCH_TARGETS
  --data-dir bench/data         where the stores are made/reused env BENCH_DATA_DIR
  --skip-build                  do not run npm run build first
  --skip-slow                   no slow-scenario accuracy section
  --skip-results                print only, leave bench/RESULTS.md as it is
  --cpu-prof                    each server writes a CPU profile to <data-dir>/profiles (node --cpu-prof)
  --smoke                       1 s runs, 5 connections, 1,000 users, 1 round, no slow section, no RESULTS.md`

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

function positive(name: string, text: string, integer: boolean): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`)
  }
  return value
}

function isTarget(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name)
}

/** Flags win over environment variables, which win over the defaults; `--smoke` changes the defaults. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, root: string): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sizes: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      targets: { type: 'string' },
      'data-dir': { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      'skip-slow': { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'skip-results': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) throw new Error(USAGE)
  const smoke = values.smoke
  const pick = (flag: string | undefined, variable: string, fallback: string, smokeValue: string) =>
    flag ?? (env[variable] || (smoke ? smokeValue : fallback))

  const targets = list(pick(values.targets, 'BENCH_TARGETS', TARGET_NAMES.join(','), TARGET_NAMES.join(',')))
  const unknown = targets.filter((name) => !isTarget(name))
  if (unknown.length > 0)
    throw new Error(`unknown target ${unknown.join(', ')}; known: ${TARGET_NAMES.join(', ')}`)
  if (targets.length === 0) throw new Error('--targets names no target')

  const sizes = list(pick(values.sizes, 'BENCH_SIZES', '1000,100000,1000000', '1000')).map((size) =>
    positive('--sizes', size, true),
  )
  const dataDir = resolve(root, pick(values['data-dir'], 'BENCH_DATA_DIR', 'bench/data', 'bench/data'))
  return {
    sizes,
    duration: positive('--duration', pick(values.duration, 'BENCH_DURATION', '10', '1'), false),
    warmup: positive('--warmup', pick(values.warmup, 'BENCH_WARMUP', '3', '0.5'), false),
    rounds: positive('--rounds', pick(values.rounds, 'BENCH_ROUNDS', '3', '1'), true),
    connections: positive('--connections', pick(values.connections, 'BENCH_CONNECTIONS', '50', '5'), true),
    targets: targets.filter(isTarget),
    smoke,
    build: !values['skip-build'],
    slow: !values['skip-slow'] && !smoke,
    dataDir,
    resultsFile: smoke || values['skip-results'] ? null : resolve(root, 'bench/RESULTS.md'),
    poolSize: 1000,
    cpuProfDir: values['cpu-prof'] ? resolve(dataDir, 'profiles') : null,
  }
}
