import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Io, run } from '../../src/cli/main.js'
import { resolveSecret } from '../../src/cli/options.js'
import { correctEndpoint } from './fixtures/correct-endpoint.js'
import { closedPort, FIXTURE_SECRET, KNOWN_TOKEN, listen, type Running } from './fixtures/listen.js'
import { checkRowCount } from './fixtures/row-count.js'
import { vendorNodeSample } from './fixtures/vendor-node-sample.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')

function io(argv: string[], env: NodeJS.ProcessEnv = {}, stdin: string | Buffer = '') {
  let stdout = ''
  let stderr = ''
  const value: Io = {
    argv,
    env,
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Object.assign(Readable.from([Buffer.from(stdin)]), { isTTY: false }),
  }
  return { io: value, stdout: () => stdout, stderr: () => stderr }
}

// Known answers, computed with:
//   printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"
// with SECRET='fixture-secret-0123456789abcdef' (and 'first' for the TALKI_SECRET list case).
const VECTORS: [body: string, hex: string][] = [
  ['{"userToken":"usr_abc123"}', '21a2b54af46f3251c7ebf7f5a16d527bc224bd497b8fc49347571d71fc38d281'],
  ['', '2dde629763ae1492496a8c8c6e3ce7f28d3b09ab9f1c02944bcfc23d20c5c70c'],
  ['{ "userToken" : "Zoë ✓" }', 'e7440d9a820281f95ce5a667305fdecef0c098d2de6846c8cfcf0656722c815d'],
]
// printf '%s\n' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'fixture-secret-0123456789abcdef'
const WITH_NEWLINE = 'a75f486f970f22e3910a3d2cb1a6d0cc60b87002e419c17884de2e5e059045f0'
// printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'first'
const UNDER_FIRST = 'a4a47d9c5efb70dee11e2dd24623822bb0df70f8584d6be33e298c55597b6b18'

describe('sign', () => {
  it.each(VECTORS)('signs %j as openssl does, from the argument and from stdin', async (body, hex) => {
    const fromArg = io(['sign', '--secret', FIXTURE_SECRET, '--', body])
    expect(await run(fromArg.io)).toBe(0)
    expect(fromArg.stdout()).toBe(`${hex}\n`)
    const fromStdin = io(['sign', '--secret', FIXTURE_SECRET], {}, body)
    expect(await run(fromStdin.io)).toBe(0)
    expect(fromStdin.stdout()).toBe(`${hex}\n`)
  })

  it('keeps a trailing newline on stdin: the bytes are signed exactly', async () => {
    const piped = io(['sign', '--secret', FIXTURE_SECRET], {}, '{"userToken":"usr_abc123"}\n')
    await run(piped.io)
    expect(piped.stdout()).toBe(`${WITH_NEWLINE}\n`)
  })

  it('signs with the first secret of TALKI_SECRET, taken as is', async () => {
    const listed = io(['sign', '{"userToken":"usr_abc123"}'], { TALKI_SECRET: 'first,second' })
    expect(await run(listed.io)).toBe(0)
    expect(listed.stdout()).toBe(`${UNDER_FIRST}\n`)
  })
})

describe('resolveSecret', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talki-cli-'))
    await writeFile(join(dir, '.secret'), 'from-file\n', { mode: 0o600 })
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('prefers --secret, then TALKI_SECRET, then .secret beside DATA_FILE', async () => {
    const env = { TALKI_SECRET: ' spaced ,x', DATA_FILE: join(dir, 'db.json') }
    expect(await resolveSecret('flag', env)).toBe('flag')
    expect(await resolveSecret(undefined, env)).toBe(' spaced ')
    expect(await resolveSecret(undefined, { DATA_FILE: join(dir, 'db.json') })).toBe('from-file')
  })

  it('is a usage error (exit 2) when there is none, saying how to give one', async () => {
    const none = io(['send', 'x'], { DATA_FILE: join(dir, 'nowhere', 'db.json') })
    expect(await run(none.io)).toBe(2)
    expect(none.stderr()).toBe(
      `talki-endpoint: no signing secret: pass --secret S, set TALKI_SECRET, or start the server once to create ${join(dir, 'nowhere', '.secret')}\nRun 'talki-endpoint send --help' for usage.\n`,
    )
    const empty = io(['send', 'x'], { TALKI_SECRET: ',b' })
    expect(await run(empty.io)).toBe(2)
    expect(empty.stderr()).toContain('TALKI_SECRET is set but its first secret is empty')
  })
})

describe('usage', () => {
  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['help', 'toString'], 'unknown command "toString"'],
    [['check', '--secret', 's'], '--token KNOWN is required'],
    [['check', '--token', 'x', '--secret', 's', '--url', 'ftp://x'], '--url must be http:// or https://'],
    [
      ['check', '--token', 'x', '--secret', 's', '--concurrency', '0'],
      '--concurrency must be a whole number from 1 to 100, not "0"',
    ],
    [['send', 'x', '--secret', 's', '--timeout', 'soon'], '--timeout must be a whole number'],
    [['send', '--secret', 's'], 'send takes exactly one TOKEN'],
    [['send', 'x', '--bogus'], "Unknown option '--bogus'"],
    [['seed', '--count', '-3'], "Option '--count' argument is ambiguous. Did you forget"],
    [['seed', '--count=-3'], '--count must be a whole number from 0 to 1000000, not "-3"'],
  ])('%j exits 2 with one line', async (argv, message) => {
    const call = io(argv)
    expect(await run(call.io)).toBe(2)
    expect(call.stderr()).toContain(message)
    expect(call.stderr().split('\n')).toHaveLength(3)
  })

  it('has --help for every command, exit 0', async () => {
    for (const command of ['sign', 'send', 'check', 'serve', 'seed']) {
      const call = io([command, '--help'])
      expect(await run(call.io)).toBe(0)
      expect(call.stdout()).toMatch(new RegExp(`^Usage: talki-endpoint ${command}`))
      expect(call.stdout()).toMatch(/^Exit 0 [\s\S]*, 2 on a usage error/m)
    }
    const top = io(['help'])
    expect(await run(top.io)).toBe(0)
    expect(top.stdout()).toContain('Exit codes: 0 success, 1 failure')
  })

  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    const call = io(['--version'])
    expect(await run(call.io)).toBe(0)
    expect(call.stdout()).toBe(`${version}\n`)
  })
})

describe('the binary', () => {
  let good: Running
  let vendor: Running
  let dir: string
  beforeAll(async () => {
    good = await listen(correctEndpoint())
    vendor = await listen(vendorNodeSample())
    dir = await mkdtemp(join(tmpdir(), 'talki-cli-'))
  })
  afterAll(async () => {
    await good.close()
    await vendor.close()
    await rm(dir, { recursive: true, force: true })
  })

  // Each call spawns tsx (a second or two), hence the longer timeouts of these tests.
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        TSX,
        [join(ROOT, 'src/cli/main.ts'), ...args],
        { cwd: dir, env: { ...process.env, TALKI_SECRET: FIXTURE_SECRET, NO_COLOR: '1' }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      )
    })
  }

  it('check exits 0 on a correct endpoint, 1 on the vendor sample, 1 on a closed port, without a stack trace', async () => {
    const closed = await closedPort()
    const [pass, fail, down, usage] = await Promise.all([
      cli(['check', '--url', good.url.href, '--token', KNOWN_TOKEN]),
      cli(['check', '--url', vendor.url.href, '--token', KNOWN_TOKEN, '--json']),
      cli(['check', '--url', closed.href, '--token', KNOWN_TOKEN]),
      cli(['check', '--url', good.url.href]),
    ])
    expect(pass.code).toBe(0)
    expect(pass.stdout).toMatch(
      new RegExp(`^${checkRowCount()} passed, 0 failed, 0 warnings in \\d+ ms — ready for Talki`, 'm'),
    )
    expect(fail.code).toBe(1)
    expect(JSON.parse(fail.stdout)).toMatchObject({ ok: false, failed: 5 })
    expect(down.code).toBe(1)
    expect(down.stdout).toMatch(/^FAIL {2}endpoint reachable {2}connection refused by 127\.0\.0\.1:\d+/m)
    expect(usage.code).toBe(2)
    for (const result of [pass, fail, down, usage])
      expect(result.stderr + result.stdout).not.toMatch(/\n\s+at /)
  }, 120_000)

  it('send exits 0 for a known user and 1 for an unknown one', async () => {
    const [known, unknown] = await Promise.all([
      cli(['send', KNOWN_TOKEN, '--url', good.url.href]),
      cli(['send', 'usr_nobody', '--url', good.url.href]),
    ])
    expect(known.code).toBe(0)
    expect(known.stdout).toContain('│ Alice Johnson')
    expect(known.stdout).not.toContain('\x1b[')
    expect(unknown.code).toBe(1)
    expect(unknown.stdout).toContain('Talki would show nothing: the endpoint answered 404')
  }, 90_000)

  it('seed writes the data set where --out says', async () => {
    const out = join(dir, 'seed.json')
    const result = await cli(['seed', '--count', '3', '--seed', '7', '--out', out])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^wrote \d+ users \(\d+ bytes\) to /)
    const written = JSON.parse(await readFile(out, 'utf8'))
    expect(written.users.some((user: { userToken: string }) => user.userToken === 'usr_abc123')).toBe(true)
  }, 90_000)
})
