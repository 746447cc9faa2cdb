import { build } from '../process.js'

// Every stress file runs the built server (`node dist/mock/main.js`): build it once for the whole run.
export default function setup(): void {
  build()
}
