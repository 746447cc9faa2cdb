#!/usr/bin/env node
// Builds the package talki-customer-route from src/template/, the folder integrators copy (one source for
// both): an ES module build in dist/esm and a CommonJS build in dist/cjs, each with its declarations,
// both for target ES2020. `node scripts/build-route-package.mjs [PACKAGE_DIR]` writes into PACKAGE_DIR
// (default packages/talki-customer-route; a test builds into a copy of that folder instead). The
// package's `prepack` runs it, so `npm pack` in that folder always packs a fresh build.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const packageDir = resolve(process.argv[2] ?? join(root, 'packages/talki-customer-route'))
const source = join(root, 'src/template')
const files = readdirSync(source)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => join(source, name))
const tsc = join(root, 'node_modules/typescript/bin/tsc')

const common = [
  '--rootDir',
  source,
  '--target',
  'ES2020',
  '--lib',
  'ES2020',
  '--types',
  'node',
  '--strict',
  '--declaration',
  '--skipLibCheck',
  '--esModuleInterop',
  '--newLine',
  'lf',
]
const builds = [
  { dir: 'esm', type: 'module', flags: ['--module', 'NodeNext', '--moduleResolution', 'NodeNext'] },
  { dir: 'cjs', type: 'commonjs', flags: ['--module', 'CommonJS', '--moduleResolution', 'Node10'] },
]

rmSync(join(packageDir, 'dist'), { recursive: true, force: true })
for (const build of builds) {
  const outDir = join(packageDir, 'dist', build.dir)
  execFileSync(process.execPath, [tsc, ...common, ...build.flags, '--outDir', outDir, ...files], {
    stdio: 'inherit',
  })
  // Node reads each folder's format from the nearest package.json; TypeScript reads the .d.ts files so too.
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: build.type })}\n`)
}
console.log(
  `build-route-package: ${files.length} files from src/template into ${join(packageDir, 'dist')}/{esm,cjs}`,
)
