#!/usr/bin/env node
// Runs before `npm start`, `npm run cli` and `npm run seed`: builds dist/ with tsc only when something tsc
// reads is newer than the oldest file it wrote, so an unchanged tree starts at once and an edited src/ is
// still rebuilt. A folder's mtime changes when an entry is added, removed or renamed, so folders count too.
// Plain JavaScript: it must run before anything is built. It is also `prepare`, so `npm ci` in a fresh clone
// leaves a built, executable `talki-endpoint` for `npx`.

import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']

/** Calls `visit(path, stats)` for `path` and, for a folder, everything under it. */
function walk(path, visit) {
  let stats
  try {
    stats = statSync(path)
  } catch {
    return
  }
  visit(path, stats)
  if (stats.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name), visit)
}

function stale() {
  let newestInput = 0
  const expected = []
  for (const input of inputs) {
    walk(join(root, input), (path, stats) => {
      // Under src/ only folders and TypeScript count (the dashboard's files are served as they are).
      if (input !== 'src' || stats.isDirectory() || path.endsWith('.ts')) {
        newestInput = Math.max(newestInput, stats.mtimeMs)
      }
      if (path.endsWith('.ts') && !path.endsWith('.d.ts')) {
        expected.push(join(root, 'dist', path.slice(join(root, 'src').length).replace(/\.ts$/, '.js')))
      }
    })
  }
  let oldestOutput = Number.POSITIVE_INFINITY
  for (const output of expected) {
    try {
      oldestOutput = Math.min(oldestOutput, statSync(output).mtimeMs)
    } catch {
      return `${output.slice(root.length)} is missing`
    }
  }
  return newestInput > oldestOutput ? 'the sources changed since the last build' : undefined
}

const reason = stale()
if (reason !== undefined) {
  process.stderr.write(`building dist/ (${reason})…\n`)
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  })
  process.exitCode = result.status ?? 1
}

// tsc writes files without the execute bit; the package's bin must have it for `npx talki-endpoint`.
const bin = join(root, 'dist', 'cli', 'main.js')
if (existsSync(bin)) chmodSync(bin, 0o755)
