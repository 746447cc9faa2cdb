import { join } from 'node:path'
import type { TargetStart } from './spec.js'

// The same logic on bare node:http (bare-http.mjs beside this file): the practical ceiling.
export const bare: TargetStart = (context) => ({
  script: join(context.root, 'bench/targets/bare-http.mjs'),
  env: {},
  admin: false,
})

// The bare target sending this project's answer headers (helmet's defaults): what those headers cost.
export const bareHeaders: TargetStart = (context) => ({
  script: join(context.root, 'bench/targets/bare-http.mjs'),
  env: { BARE_HEADERS: 'helmet' },
  admin: false,
})
