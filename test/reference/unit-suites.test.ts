import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../process.js'
import { GO, hasGo, hasPython, PYTHON, run } from './toolchains.js'

// The reference endpoints' own unit tests, in their own languages' runners, are part of the suite:
// pytest for reference/python (Flask's test client, FastAPI's TestClient), go test for reference/go.

describe.runIf(hasPython('the pytest suite of reference/python'))('pytest reference/python', () => {
  it('passes every test of both files', async () => {
    const result = await run(
      PYTHON,
      ['-m', 'pytest', 'reference/python', '-q', '-p', 'no:cacheprovider', '-rf'],
      {
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      },
    )
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const passed = Number(/^(\d+) passed in [\d.]+s/m.exec(result.stdout)?.[1])
    expect(passed).toBeGreaterThanOrEqual(80)
    console.info(`pytest reference/python: ${passed} passed`)
  }, 180_000)
})

describe.runIf(hasGo('the go test suite of reference/go'))('go test in reference/go', () => {
  it('passes every test, with the standard library only', async () => {
    const result = await run(GO, ['test', '-count=1', '-v', './...'], {
      cwd: join(ROOT, 'reference', 'go'),
      env: { ...process.env, GOPROXY: 'off' },
      timeoutMs: 300_000,
    })
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const passed = result.stdout.match(/^--- PASS: /gm)?.length ?? 0
    expect(passed).toBeGreaterThanOrEqual(14)
    expect(result.stdout).not.toMatch(/^--- FAIL/m)
    const list = await run(GO, ['list', '-deps', '-f', '{{if not .Standard}}{{.ImportPath}}{{end}}', '.'], {
      cwd: join(ROOT, 'reference', 'go'),
      env: { ...process.env, GOPROXY: 'off' },
    })
    expect(list.stdout.trim()).toBe('talki-endpoint') // nothing outside the standard library but itself
    console.info(`go test reference/go: ${passed} passed`)
  }, 320_000)
})
