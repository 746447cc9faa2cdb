import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ok, PACK_INPUTS, sh } from '../pack.js'
import { ROOT } from '../process.js'

// talki-customer-endpoint/testing as a QA team gets it: the packed tarball installed into a scratch folder
// with vitest, and docs/qa.md's vitest and node:test files run verbatim from there, both at once (two mocks
// in parallel, in two processes).

/** The `js` blocks of docs/qa.md's "From code" section, in order: vitest, node:test, jest, Testcontainers. */
async function docFiles(): Promise<string[]> {
  const text = await readFile(join(ROOT, 'docs/qa.md'), 'utf8')
  const section = text.slice(text.indexOf('## From code'))
  return [...section.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '')
}

let work: string
let app: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'talki-testing-'))
  const source = join(work, 'source')
  for (const input of PACK_INPUTS) await cp(join(ROOT, input), join(source, input), { recursive: true })
  await symlink(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir')
  const [packed] = JSON.parse(await ok('npm', ['pack', '--json', '--pack-destination', work], source)) as {
    filename: string
  }[]
  app = join(work, 'app')
  await mkdir(app)
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'qa-suite', private: true, type: 'module' }),
  )
  // The vitest this project tests with, from the cache npm ci filled.
  const vitest = JSON.parse(await readFile(join(ROOT, 'node_modules/vitest/package.json'), 'utf8'))
  await ok(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      join(work, (packed as { filename: string }).filename),
      `vitest@${vitest.version}`,
    ],
    app,
  )
}, 400_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

it('runs docs/qa.md’s vitest and node:test files from the package, at the same time', async () => {
  const [vitestFile = '', nodeFile = ''] = await docFiles()
  expect(vitestFile).toContain("from 'vitest'")
  expect(nodeFile).toContain("from 'node:test'")
  await writeFile(join(app, 'vitest-slow.test.mjs'), vitestFile)
  await writeFile(join(app, 'node-slow.test.mjs'), nodeFile)
  // The figure for docs/qa.md: lines a QA file needs for "slow makes the caller give up" (imports, the mock,
  // the call and that test; blank lines not counted).
  const needed = vitestFile
    .slice(0, vitestFile.indexOf("it('not_found"))
    .split('\n')
    .filter((line) => line.trim())
  console.log(`lines for "slow makes the caller give up" (vitest, docs/qa.md): ${needed.length}`)

  const started = performance.now()
  const [fromVitest, fromNode] = await Promise.all([
    sh('npx', ['vitest', 'run', 'vitest-slow.test.mjs'], app, 90_000),
    sh('node', ['--test', 'node-slow.test.mjs'], app, 90_000),
  ])
  console.log(`both files, in parallel: ${Math.round(performance.now() - started)} ms`)
  expect(fromVitest.stdout + fromVitest.stderr).toMatch(/Tests +2 passed/)
  expect(fromVitest.code).toBe(0)
  expect(fromNode.stdout).toMatch(/# pass 2\n# fail 0/)
  expect(fromNode.code).toBe(0)
}, 120_000)
