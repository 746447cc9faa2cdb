import { join } from 'node:path'
import type { TargetStart } from './spec.js'

// The vendor page's Node sample made runnable (vendor-sample.mjs beside this file).
export const vendor: TargetStart = (context) => ({
  script: join(context.root, 'bench/targets/vendor-sample.mjs'),
  env: {},
  admin: false,
})
