import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// Every stress file runs the built server (`node dist/mock/main.js`): build it once for the whole run.
// Kept apart from ../process.ts, which registers per-test hooks (../contract.ts) that only a test file
// may register: a global setup runs outside any suite.
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe', timeout: 120_000 })
}
