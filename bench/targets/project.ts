import { join } from 'node:path'
import type { TargetStart } from './spec.js'

// This project's server with its state in the process, at two log levels and with parts turned off: what
// each part costs is read against the one without it.

const project =
  (env: Record<string, string>, admin: boolean): TargetStart =>
  (context) => ({
    script: join(context.root, 'dist/mock/main.js'),
    env,
    admin,
  })

// Every feature on: helmet's headers, simulation checks, the request log (kept while the admin API runs).
export const projectWarn = project({ LOG_LEVEL: 'warn' }, true)
export const projectInfo = project({ LOG_LEVEL: 'info' }, true)
// The same without GET /metrics and its counting (METRICS=off): what the metrics cost is read against it.
export const projectInfoNoMetrics = project({ LOG_LEVEL: 'info', METRICS: 'off' }, true)
// Neither the request log nor info lines: what those two cost together is read against this one.
export const projectLean = project({ LOG_LEVEL: 'warn' }, false)
