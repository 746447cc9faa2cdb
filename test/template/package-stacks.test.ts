import { execFile } from 'node:child_process'
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { checkRowCount } from '../cli/fixtures/row-count.js'
import { killAll, ROOT, sleep, startServer } from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'

// talki-customer-route as integrators get it: built from src/template into a copy of its package folder,
// packed, and the tarball installed from the registry's cache into one scratch folder per framework
// major (installed in parallel). Each app in test/template/stacks/ is started there and judged by the
// built `talki-endpoint check`: every row passes. TypeScript consumers are type-checked there under
// CommonJS, Node16, NodeNext and bundler settings, target ES2020, with verbatimModuleSyntax.

const STACKS_DIR = join(ROOT, 'test/template/stacks')
const KB = 1024

/** Scratch folders, what each installs beside the tarball, and the apps started from it. */
const FOLDERS: Record<
  string,
  { deps: string[]; apps: { name: string; file: string; framework?: string }[] }
> = {
  express4: {
    deps: ['express@4'],
    apps: [
      { name: 'Express 4 (express.json first, keepRawBody)', file: 'express4.mjs', framework: 'express' },
    ],
  },
  express5: {
    deps: ['express@5'],
    apps: [{ name: 'Express 5', file: 'express5.mjs', framework: 'express' }],
  },
  fastify4: {
    deps: ['fastify@4'],
    apps: [{ name: 'Fastify 4', file: 'fastify4.mjs', framework: 'fastify' }],
  },
  fastify5: {
    deps: ['fastify@5'],
    apps: [{ name: 'Fastify 5', file: 'fastify5.mjs', framework: 'fastify' }],
  },
  hono: {
    deps: ['hono@4', '@hono/node-server@2'],
    apps: [{ name: 'Hono on Node (Web handler)', file: 'hono.mjs', framework: 'hono' }],
  },
  bare: {
    deps: [],
    apps: [
      { name: 'node:http', file: 'node-http.mjs' },
      { name: 'Lambda (v2 events, base64, local shim)', file: 'lambda.mjs' },
      { name: 'plain-JavaScript CommonJS (require)', file: 'commonjs.cjs' },
    ],
  },
}

function sh(command: string, args: string[], cwd: string, timeout = 300_000) {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_') || key.toLowerCase() === 'npm_config_cache') env[key] = value
  }
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        env: { ...env, npm_config_update_notifier: 'false', NO_COLOR: '1' },
        timeout,
        maxBuffer: 16 * KB * KB,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    )
  })
}

async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const ran = await sh(command, args, cwd)
  if (ran.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${ran.code}\n${ran.stdout}\n${ran.stderr}`)
  return ran.stdout + ran.stderr
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size
  }
  return total
}

let work: string
let packed: { filename: string; size: number; unpackedSize: number }
const installLog: Record<string, string> = {}
const figures: string[] = []

beforeAll(async () => {
  const started = performance.now()
  work = await mkdtemp(join(tmpdir(), 'talki-stacks-'))
  const pkg = join(work, 'package')
  await mkdir(pkg)
  await copyFile(join(ROOT, 'packages/talki-customer-route/package.json'), join(pkg, 'package.json'))
  await ok(process.execPath, [join(ROOT, 'scripts/build-route-package.mjs'), pkg], ROOT)
  const [entry] = JSON.parse(
    await ok('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], pkg),
  )
  packed = entry
  const tarball = join(work, packed.filename)
  await Promise.all(
    Object.entries(FOLDERS).map(async ([folder, { deps }]) => {
      const dir = join(work, folder)
      await cp(STACKS_DIR, dir, { recursive: true })
      await copyFile(join(ROOT, 'test/template/lambda-shim.mjs'), join(dir, 'lambda-shim.mjs'))
      await writeFile(join(dir, 'users.json'), JSON.stringify([ALICE]))
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${folder}`, private: true }))
      installLog[folder] = await ok(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...deps],
        dir,
      )
    }),
  )
  // The check CLI, built as `npm run cli` builds it.
  await ok(process.execPath, [join(ROOT, 'scripts/build-if-changed.mjs')], ROOT)
  figures.push(
    `pack, build and ${Object.keys(FOLDERS).length} installs: ${Math.round(performance.now() - started)} ms`,
  )
}, 600_000)

afterEach(killAll)

afterAll(async () => {
  console.log(`talki-customer-route stacks\n${figures.join('\n')}`)
  if (work) await rm(work, { recursive: true, force: true })
})

describe('the tarball', () => {
  it('packs at most 40 kB and installs with no dependency and no engine warning', async () => {
    expect(packed.size).toBeLessThanOrEqual(40 * KB)
    const bare = join(work, 'bare')
    // `npm ls --all --parseable`: the folder itself, then one line per installed package.
    const listed = (await ok('npm', ['ls', '--all', '--parseable'], bare)).trim().split('\n')
    expect(listed.slice(1).map((path) => path.slice(bare.length + 1))).toStrictEqual([
      'node_modules/talki-customer-route',
    ])
    // With nothing else installed, npm warns of nothing; beside a framework, never about this package.
    // (Fastify 5 itself brings cookie@2, which asks for Node 22: its own warning, not ours.)
    expect(installLog.bare).not.toContain('npm warn')
    for (const [folder, log] of Object.entries(installLog)) {
      expect(log, folder).not.toMatch(/EBADENGINE[^\n]*\n[^\n]*talki-customer-route/)
    }
    const installed = await bytesUnder(join(bare, 'node_modules/talki-customer-route'))
    figures.push(
      `packed ${packed.size} B, unpacked ${packed.unpackedSize} B, installed ${installed} B, 0 dependencies`,
    )
  })
})

describe('each stack, judged by talki-endpoint check', () => {
  for (const [folder, { apps }] of Object.entries(FOLDERS)) {
    for (const app of apps) {
      it(`${app.name}: every row passes`, async () => {
        const started = performance.now()
        const dir = join(work, folder)
        const server = startServer({ PORT: '0', TALKI_SECRET: TEST_SECRET }, join(dir, app.file))
        let url: string | undefined
        for (let waited = 0; url === undefined; waited += 50) {
          url = / listening on (http:\/\/\S+)/.exec(server.stdout())?.[1]
          if (waited > 30_000) throw new Error(`no listening line: ${server.stdout()} ${server.stderr()}`)
          await sleep(50)
        }
        const ran = await sh(
          process.execPath,
          [
            join(ROOT, 'dist/cli/main.js'),
            'check',
            '--url',
            url,
            '--token',
            ALICE.userToken,
            '--secret',
            TEST_SECRET,
            '--json',
          ],
          dir,
          60_000,
        )
        const report = JSON.parse(ran.stdout) as {
          ok: boolean
          passed: number
          rows: { name: string; pass: boolean }[]
        }
        expect(report.rows.filter((row) => !row.pass)).toStrictEqual([])
        expect(ran.code).toBe(0)
        expect(report.ok).toBe(true)
        expect(report.rows).toHaveLength(checkRowCount(url))
        const version = app.framework
          ? JSON.parse(await readFile(join(dir, 'node_modules', app.framework, 'package.json'), 'utf8'))
              .version
          : process.version
        figures.push(
          `${app.name} (${app.framework ?? 'node'} ${version}): check ${report.passed}/${report.rows.length} passed, ${Math.round(performance.now() - started)} ms`,
        )
      }, 90_000)
    }
  }
})

describe('TypeScript consumers', () => {
  const CONFIGS: Record<string, { compilerOptions: Record<string, unknown>; files: string[] }> = {
    commonjs: {
      compilerOptions: { module: 'CommonJS', moduleResolution: 'Node10', esModuleInterop: true },
      files: ['consumer-esm.ts'],
    },
    'commonjs-verbatim': {
      compilerOptions: {
        module: 'CommonJS',
        moduleResolution: 'Node10',
        esModuleInterop: true,
        verbatimModuleSyntax: true,
      },
      files: ['consumer-require.ts'],
    },
    node16: {
      compilerOptions: { module: 'Node16', moduleResolution: 'Node16', verbatimModuleSyntax: true },
      files: ['consumer.mts', 'consumer.cts'],
    },
    nodenext: {
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', verbatimModuleSyntax: true },
      files: ['consumer.mts', 'consumer.cts'],
    },
    bundler: {
      compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', verbatimModuleSyntax: true },
      files: ['consumer-esm.ts'],
    },
  }
  let dir: string
  beforeAll(async () => {
    dir = join(work, 'express5')
    const version = async (name: string) =>
      JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string
    await ok(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--save-dev',
        `typescript@${await version('typescript')}`,
        `@types/node@${await version('@types/node')}`,
        `@types/express@${await version('@types/express')}`,
        `@types/pg@${await version('@types/pg')}`,
        `fastify@${await version('fastify')}`,
      ],
      dir,
    )
    await copyFile(join(dir, 'consumer-esm.ts'), join(dir, 'consumer.mts'))
    await copyFile(join(dir, 'consumer-require.ts'), join(dir, 'consumer.cts'))
  }, 300_000)

  for (const [name, config] of Object.entries(CONFIGS)) {
    it(`type-checks with ${name}, target ES2020`, async () => {
      const file = `tsconfig.${name}.json`
      const compilerOptions = {
        target: 'ES2020',
        lib: ['ES2020'],
        types: ['node'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        ...config.compilerOptions,
      }
      await writeFile(join(dir, file), JSON.stringify({ compilerOptions, files: config.files }))
      const ran = await sh(join(dir, 'node_modules/.bin/tsc'), ['-p', file], dir, 120_000)
      expect(ran.stdout + ran.stderr).toBe('')
      expect(ran.code).toBe(0)
    }, 120_000)
  }
})
