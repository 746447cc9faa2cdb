import { measureSlow, type SlowPlan } from './slow.js'

// The slow section's client, started by bench/run.ts as a process of its own, so the load generator's
// heap and its garbage collections are not in the figure. The plan comes as JSON in
// the first argument; the result goes to stdout as JSON.
const plan = JSON.parse(process.argv[2] ?? '{}') as SlowPlan
process.stdout.write(`${JSON.stringify(await measureSlow(plan))}\n`)
