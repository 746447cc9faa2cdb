import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check.js'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../support/engines/postgres.js'
import { freePort, ROOT, sleep } from '../process.js'
import { TEST_SECRET } from '../support.js'

// The integrator's guide (docs/integrators.md), followed as written: each row of "Which files for your stack" copied
// alone into an empty folder with only the packages it names, and type-checked; then the walkthrough
// "From copy to ready for Talki", step by step, ending with `check` against the server it wrote.
// Packages are linked from this project's node_modules instead of downloaded (no network in tests).

const GUIDE = readFileSync(join(ROOT, 'docs/integrators.md'), 'utf8')
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc')
const folders: string[] = []
const children: ChildProcess[] = []

function section(heading: string): string {
  const start = GUIDE.indexOf(`\n${heading}\n`)
  if (start === -1) throw new Error(`docs/integrators.md has no "${heading}" section`)
  const rest = GUIDE.slice(start + heading.length + 2)
  const end = rest.search(/\n#{2,3} /)
  return end === -1 ? rest : rest.slice(0, end)
}

/** The fenced code blocks of `text`, in order, with their list indentation removed. */
function codeBlocks(text: string): { lang: string; code: string }[] {
  return [...text.matchAll(/^( *)```(\w+)\n([\s\S]*?)^\1```$/gm)].map((match) => ({
    lang: match[2] ?? '',
    code: (match[3] ?? '')
      .split('\n')
      .map((line) => line.slice((match[1] ?? '').length))
      .join('\n'),
  }))
}

/** The packages an `npm i …` command names (flags left out). */
function packagesOf(command: string): string[] {
  return [...command.matchAll(/npm i ((?:-D )?[^`&\n]+)/g)].flatMap((match) =>
    (match[1] ?? '').split(/\s+/).filter((word) => word !== '' && !word.startsWith('-')),
  )
}

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'talki-readme-'))
  folders.push(folder)
  return folder
}

/** What `npm i` would put in `folder/node_modules`: links to this project's copies. */
function install(folder: string, packages: string[]): void {
  for (const name of packages) {
    const target = join(folder, 'node_modules', name)
    mkdirSync(join(target, '..'), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules', name), target)
  }
}

/** Runs shell lines as written in `cwd`; each `npm i …` links the packages it names instead. */
function runAsWritten(commands: string, cwd: string, installIn = cwd): void {
  const lines = commands
    .split('\n')
    .map((line) => (line.startsWith('npm i ') ? ': installed below' : line))
    .join('\n')
  execFileSync('bash', ['-euc', lines], { cwd, stdio: 'pipe', timeout: 60_000 })
  install(installIn, packagesOf(commands))
}

function typeCheck(folder: string, project = '.'): void {
  execFileSync(process.execPath, [TSC, '-p', project], { cwd: folder, stdio: 'pipe', timeout: 120_000 })
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true })
})

describe('integrator guide: which files for your stack', () => {
  const rows = section('## Which files for your stack')
    .split('\n')
    .filter((line) => line.startsWith('| ') && line.includes('.ts`'))
    .map((line) => {
      const [stack = '', files = '', install = ''] = line.split(' | ').map((cell) => cell.replace(/^\| /, ''))
      return {
        stack,
        files: [...files.matchAll(/`([\w-]+\.ts)`/g)].map((match) => match[1] ?? ''),
        packages: packagesOf(install),
      }
    })

  it('lists the four stacks', () => {
    expect(rows.map((row) => row.stack.split(/[ :]/)[0])).toStrictEqual(['Express', 'Fastify', 'bare', 'Web'])
  })

  for (const row of rows) {
    it(`type-checks the files named for ${row.stack} alone, with only ${row.packages.join(', ') || 'no package'}`, () => {
      const folder = tempFolder()
      for (const file of row.files) cpSync(join(ROOT, 'src/template', file), join(folder, file))
      install(folder, row.packages)
      const node = row.packages.includes('@types/node')
      writeFileSync(join(folder, 'package.json'), '{"type":"module"}\n')
      writeFileSync(
        join(folder, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            // Without @types/node, only what a Worker or a browser has: the DOM's types.
            lib: node ? ['ES2022'] : ['ES2022', 'DOM'],
            types: node ? ['node'] : [],
            strict: true,
            skipLibCheck: true,
            noEmit: true,
          },
        }),
      )
      typeCheck(folder)
    }, 120_000)
  }
})

describe('integrator guide: from copy to "ready for Talki"', () => {
  it('copies, installs, type-checks and runs the Express walkthrough, and check passes every row', async () => {
    const blocks = codeBlocks(section('## From copy to "ready for Talki"'))
    expect(blocks.map((block) => block.lang)).toStrictEqual(['sh', 'json', 'ts', 'sh', 'sh'])
    const [setup, tsconfig, server, run, check] = blocks.map((block) => block.code)

    // 1. The commands as written, beside a clone named as in the guide; `npm i` links instead.
    const parent = tempFolder()
    symlinkSync(ROOT, join(parent, 'talki-customer-endpoint'))
    const folder = join(parent, 'my-endpoint')
    runAsWritten(setup ?? '', parent, folder)
    expect(JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')).type).toBe('module')

    // 2–3. The files as written.
    writeFileSync(join(folder, 'tsconfig.json'), tsconfig ?? '')
    writeFileSync(join(folder, 'server.ts'), server ?? '')

    // 4. Type-check, then run it.
    const [tscLine, secretLine, runLine] = (run ?? '').trim().split('\n')
    expect(tscLine).toBe('npx tsc -p .')
    typeCheck(folder)
    expect(secretLine).toMatch(/^export TALKI_SECRET=/)
    expect(runLine).toBe('npx tsx server.ts')
    const port = await startServerTs(folder)

    // 5. check, with the URL and token the guide gives.
    await expectCheckPasses(check ?? '', port)
  }, 120_000)
})

describe.runIf(postgresAvailable("the integrator guide's PostgreSQL steps"))(
  'integrator guide: your database: PostgreSQL',
  () => {
    let postgres: PostgresServer
    beforeAll(async () => {
      postgres = await startPostgres()
    })
    afterAll(async () => {
      await postgres?.close()
    })

    it('copies the store, installs pg, type-checks and runs server.ts on a real PostgreSQL, and check passes', async () => {
      const [setup, tsconfig, , , check] = codeBlocks(section('## From copy to "ready for Talki"')).map(
        (b) => b.code,
      )
      const blocks = codeBlocks(section('## Your database: PostgreSQL'))
      expect(blocks.map((block) => block.lang)).toStrictEqual(['sh', 'ts', 'sql'])
      const [copy, server] = blocks.map((block) => block.code)

      // The walkthrough's folder, then this section's steps as written.
      const parent = tempFolder()
      symlinkSync(ROOT, join(parent, 'talki-customer-endpoint'))
      const folder = join(parent, 'my-endpoint')
      runAsWritten(setup ?? '', parent, folder)
      writeFileSync(join(folder, 'tsconfig.json'), tsconfig ?? '')
      runAsWritten(copy ?? '', folder)
      writeFileSync(join(folder, 'server.ts'), server ?? '')
      typeCheck(folder)

      const databaseUrl = await postgres.createDatabase('readme_guide')
      const port = await startServerTs(folder, { DATABASE_URL: databaseUrl })
      await expectCheckPasses(check ?? '', port)
      // It created and filled its table.
      expect(
        await postgres.sql(
          'SELECT user_token, profile FROM talki_users ORDER BY position',
          [],
          'readme_guide',
        ),
      ).toEqual([
        {
          user_token: 'usr_abc123',
          profile: { name: 'Alice Johnson', email: 'alice@example.com', plan: 'pro' },
        },
      ])
    }, 120_000)
  },
)

/** `npx tsx server.ts` (node with tsx's loader, found in the folder's own node_modules) on a free port. */
async function startServerTs(folder: string, env: Record<string, string> = {}): Promise<number> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
    cwd: folder,
    env: { PATH: process.env.PATH ?? '', TALKI_SECRET: TEST_SECRET, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  await until(
    () => output.includes('listening on'),
    () => output,
  )
  return port
}

/** `check` with the URL and token the guide's command gives, on the port actually used. */
async function expectCheckPasses(command: string, port: number): Promise<void> {
  const url = /--url (\S+)/.exec(command)?.[1] ?? ''
  const token = /--token (\S+)/.exec(command)?.[1] ?? ''
  expect(url).toBe('http://127.0.0.1:5055/talki/customer')
  const actual = new URL(url)
  actual.port = String(port)
  const report = await runCheck({
    url: actual,
    token,
    secret: TEST_SECRET,
    field: 'userToken',
    timeoutMs: 5000,
  })
  expect(report.rows.filter((row) => !row.pass)).toStrictEqual([])
  expect(report.ok).toBe(true)
}

async function until(check: () => boolean, output: () => string, ms = 20_000) {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not listening\n${output()}`)
    await sleep(20)
  }
}
