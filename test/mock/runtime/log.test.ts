import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BatchedLines, createLogger, requestLineWriter } from '../../../src/mock/runtime/log.js'
import { freePort, ROOT } from '../../process.js'
import { signedRequest, TEST_SECRET } from '../../support.js'

const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')
const FIXTURE = join(ROOT, 'test', 'fixtures', 'log-lines.ts')

describe('BatchedLines', () => {
  let file: string
  let fd: number
  beforeEach(() => {
    file = join(mkdtempSync(join(tmpdir(), 'talki-log-')), 'out.log')
    fd = openSync(file, 'w')
  })
  afterEach(() => closeSync(fd))
  const written = () => readFileSync(file, 'utf8')

  it('writes the lines of one turn together when the turn ends, in order', async () => {
    const lines = new BatchedLines(fd)
    lines.write('a\n')
    lines.write('b\n')
    lines.write('c\n')
    expect(written()).toBe('')
    await nextTurn()
    expect(written()).toBe('a\nb\nc\n')
  })

  it('holds lines that come right after a write for the rest of the coalescing window, then writes them together', async () => {
    const lines = new BatchedLines(fd, 1000)
    lines.write('a\n')
    await nextTurn()
    expect(written()).toBe('a\n')
    lines.write('b\n')
    lines.write('c\n')
    await sleep(100)
    expect(written()).toBe('a\n')
    await vi.waitFor(() => expect(written()).toBe('a\nb\nc\n'), { timeout: 3000, interval: 50 })
  })

  it('flush writes at once and calls back', () => {
    const lines = new BatchedLines(fd)
    lines.write('a\n')
    let called = false
    lines.flush(() => {
      called = true
    })
    expect(written()).toBe('a\n')
    expect(called).toBe(true)
  })

  it('writes at once when 64 KiB are waiting', () => {
    const lines = new BatchedLines(fd)
    const long = `${'x'.repeat(64 * 1024)}\n`
    lines.write('a\n')
    lines.write(long)
    expect(written()).toBe(`a\n${long}`)
  })

  it('keeps non-ASCII lines whole', async () => {
    const lines = new BatchedLines(fd)
    lines.write('Zoë 日本 🙂\n')
    await nextTurn()
    expect(written()).toBe('Zoë 日本 🙂\n')
  })

  it('drops the rest quietly once the descriptor cannot be written', async () => {
    const readOnly = openSync(file, 'r') // writeSync on it fails with EBADF, as a closed pipe fails with EPIPE
    try {
      const lines = new BatchedLines(readOnly)
      lines.write('lost\n')
      expect(() => lines.flush()).not.toThrow()
      lines.write('also lost\n')
      await nextTurn()
      expect(written()).toBe('')
    } finally {
      closeSync(readOnly)
    }
  })

  it('a full disk (ENOSPC) costs the batch, never an exception', async () => {
    const full = openSync('/dev/full', 'w')
    try {
      const lines = new BatchedLines(full)
      lines.write('a\n')
      expect(() => lines.flush()).not.toThrow()
      lines.write('b\n')
      await nextTurn()
      expect(() => lines.flush()).not.toThrow()
    } finally {
      closeSync(full)
    }
  })
})

describe('createLogger on stdout', () => {
  it('shares one stdout writer and one exit hook between loggers', () => {
    const before = process.listenerCount('exit')
    for (let i = 0; i < 20; i++) createLogger(i % 2 === 0 ? 'silent' : 'info')
    expect(process.listenerCount('exit') - before).toBeLessThanOrEqual(1)
  })

  function run(args: string[], readStdout: boolean) {
    const child = spawn(TSX, [FIXTURE, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    if (readStdout) child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    else child.stdout.destroy() // the reader goes away: `npm start | head`
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      child.once('close', (code) => resolve({ code, stdout, stderr }))
    })
  }
  const numbers = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { n: number }).n)

  it('writes every line, the last one logged just before process.exit included', async () => {
    const { code, stdout } = await run(['50', 'exit'], true)
    expect(code).toBe(0)
    expect(numbers(stdout)).toEqual(Array.from({ length: 50 }, (_, n) => n))
  })

  it('writes the lines logged before an uncaught exception', async () => {
    const { code, stdout, stderr } = await run(['5', 'throw'], true)
    expect(code).toBe(1)
    expect(stderr).toContain('the fixture throws')
    expect(numbers(stdout)).toEqual([0, 1, 2, 3, 4])
  })

  it('writes a line logged by a later exit listener, after the others', async () => {
    const { code, stdout } = await run(['3', 'late'], true)
    expect(code).toBe(0)
    expect(numbers(stdout)).toEqual([0, 1, 2, -1])
  })

  it('writes every line when the event loop runs out', async () => {
    const { code, stdout } = await run(['3', 'end'], true)
    expect(code).toBe(0)
    expect(numbers(stdout)).toEqual([0, 1, 2])
  })

  it('exits 0 without a word when nobody reads stdout any more', async () => {
    const { code, stderr } = await run(['2000', 'end'], false)
    expect(code).toBe(0)
    expect(stderr).toBe('')
  })
})

describe('requestLineWriter', () => {
  function captured(level: string) {
    const lines: string[] = []
    const logger = createLogger(level, { write: (line: string) => void lines.push(line) })
    return { logger, lines }
  }

  it('writes the line pino writes for the same fields, to the same destination', () => {
    const { logger, lines } = captured('info')
    const write = requestLineWriter(logger)
    const rows = [
      { token: 'usr_abc123', status: 200, latencyMs: 1.3, scenario: null },
      { token: 'usr_"quoted"\\ü\n', status: 503, latencyMs: 0, scenario: 'error' },
      { token: null, status: null, latencyMs: 12.5, scenario: 'reset' },
    ]
    for (const row of rows) {
      write?.(row)
      logger.info(row, 'request')
    }
    expect(lines).toHaveLength(6)
    const withoutTime = (line: string) => ({ ...JSON.parse(line), time: 0 })
    for (let i = 0; i < lines.length; i += 2) {
      expect(withoutTime(lines[i] as string)).toEqual(withoutTime(lines[i + 1] as string))
      expect(Object.keys(JSON.parse(lines[i] as string))).toEqual(
        Object.keys(JSON.parse(lines[i + 1] as string)),
      )
      expect(lines[i]?.endsWith('}\n')).toBe(true)
    }
  })

  it('is undefined above info, so nothing is built per request', () => {
    expect(requestLineWriter(captured('warn').logger)).toBeUndefined()
  })
})

describe('the server at LOG_LEVEL=info', () => {
  /**
   * Starts the server (`preload`: a module node imports first), answers 200 requests, 20 at a time, then
   * sends `signal` right after the last answer, while its lines wait for the batch's coalescing window.
   */
  async function answerThenSignal(signal: NodeJS.Signals, preload?: string) {
    const dir = mkdtempSync(join(tmpdir(), 'talki-log-server-'))
    const port = await freePort()
    // node itself, not tsx's CLI, so that the signal reaches the server and not a wrapper process.
    const flags = ['--import', 'tsx', ...(preload === undefined ? [] : ['--import', preload])]
    const child = spawn(process.execPath, [...flags, join(ROOT, 'src', 'mock', 'main.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        ADMIN_PORT: '0',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
        TALKI_SECRET: TEST_SECRET,
        DATA_FILE: join(dir, 'db.json'),
      },
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve))
    try {
      const url = `http://127.0.0.1:${port}/talki/customer`
      const deadline = Date.now() + 30_000
      while (!stdout.includes('endpoint listening') && Date.now() < deadline) await sleep(20)
      expect(stdout).toContain('endpoint listening')
      const { body, signature } = signedRequest('usr_abc123')
      const statuses: number[] = []
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-talki-signature': signature },
              body,
            }).then(async (res) => {
              await res.arrayBuffer()
              return res.status
            }),
          ),
        )
        statuses.push(...answers)
      }
      expect(statuses.filter((status) => status === 200)).toHaveLength(200)
      child.kill(signal)
      const code = await exited
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map(
          (line) =>
            JSON.parse(line) as { msg: string; status?: number; token?: string; err?: { message?: string } },
        )
      return { code, lines, requestLines: lines.filter((line) => line.msg === 'request') }
    } finally {
      child.kill('SIGKILL')
    }
  }

  it('has written a request line for every answered request when SIGTERM has stopped it', async () => {
    const { code, lines, requestLines } = await answerThenSignal('SIGTERM')
    expect(code).toBe(0)
    expect(requestLines).toHaveLength(200)
    expect(requestLines.every((line) => line.status === 200 && line.token === 'usr_abc123')).toBe(true)
    expect(lines.at(-1)?.msg).toBe('stopped')
  }, 60_000)

  it('has written a request line for every answered request, then the error, when an uncaught exception has crashed it', async () => {
    // The fixture throws from a SIGUSR2 listener: an exception nothing catches, in the running server.
    const { code, lines, requestLines } = await answerThenSignal(
      'SIGUSR2',
      join(ROOT, 'test', 'fixtures', 'crash-on-sigusr2.mjs'),
    )
    expect(code).toBe(1)
    expect(requestLines).toHaveLength(200)
    expect(requestLines.every((line) => line.status === 200 && line.token === 'usr_abc123')).toBe(true)
    expect(lines.at(-1)).toMatchObject({
      level: 60,
      msg: 'uncaught exception',
      err: { message: 'crash on purpose (test fixture)' },
    })
  }, 60_000)
})
