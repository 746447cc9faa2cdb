import { execFile } from 'node:child_process'
import { cp, mkdtemp, rm, stat, symlink, unlink, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './process.js'

// scripts/build-if-changed.mjs, the `prestart` of `npm start` (and the first step of `npm run cli`), on a
// copy of the project in a temp folder: it builds when dist/ is missing or older than a source, and
// otherwise does nothing, quickly.

const run = promisify(execFile)
let dir = ''

async function buildIfChanged(): Promise<{ stderr: string; ms: number }> {
  const started = performance.now()
  const { stderr } = await run(process.execPath, [join(dir, 'scripts/build-if-changed.mjs')], {
    cwd: dir,
    timeout: 120_000,
  })
  return { stderr, ms: performance.now() - started }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'talki-build-'))
  for (const path of [
    'src',
    'scripts',
    'tsconfig.json',
    'tsconfig.build.json',
    'package.json',
    'package-lock.json',
  ]) {
    await cp(join(ROOT, path), join(dir, path), { recursive: true })
  }
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('build-if-changed', () => {
  it('builds a missing dist/, then does nothing while nothing changed, and builds again after an edit', async () => {
    const first = await buildIfChanged()
    expect(first.stderr).toMatch(/^building dist\/ \(dist\/\S+\.js is missing\)…\n$/)
    const built = (await stat(join(dir, 'dist/mock/main.js'))).mtimeMs

    const unchanged = await buildIfChanged()
    expect(unchanged.stderr).toBe('')
    // A comparison of modification times, not a compile: well under the 3 s a build takes here.
    expect(unchanged.ms).toBeLessThan(first.ms / 2)
    expect((await stat(join(dir, 'dist/mock/main.js'))).mtimeMs).toBe(built)

    // An edit: a source newer than every output.
    const later = new Date(Date.now() + 1000)
    await utimes(join(dir, 'src/mock/runtime/log.ts'), later, later)
    const edited = await buildIfChanged()
    expect(edited.stderr).toBe('building dist/ (the sources changed since the last build)…\n')
    expect((await stat(join(dir, 'dist/mock/main.js'))).mtimeMs).toBeGreaterThan(built)

    // An output removed by hand is rebuilt too.
    await unlink(join(dir, 'dist/cli/sidebar.js'))
    expect((await buildIfChanged()).stderr).toBe('building dist/ (dist/cli/sidebar.js is missing)…\n')
    expect((await stat(join(dir, 'dist/cli/sidebar.js'))).isFile()).toBe(true)
  }, 120_000)
})
