import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from './process.js'

// What a new user does: clone, `npm ci`, `npx talki-endpoint --help`. The clone is of the committed HEAD;
// packages come from npm's cache where it has them (--prefer-offline), so the test stays bounded.

const folder = mkdtempSync(join(tmpdir(), 'talki-clone-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

describe('a fresh clone', () => {
  it('runs `npx talki-endpoint --help` right after `npm ci` (built by prepare, bin executable)', () => {
    const clone = join(folder, 'talki-customer-endpoint')
    execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${ROOT}`, clone], {
      stdio: 'pipe',
      timeout: 60_000,
    })
    execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: clone,
      stdio: 'pipe',
      timeout: 240_000,
    })
    expect(statSync(join(clone, 'dist/cli/main.js')).mode & 0o111).toBe(0o111)
    const help = execFileSync('npx', ['--no-install', 'talki-endpoint', '--help'], {
      cwd: clone,
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(help).toContain('talki-endpoint')
    expect(help).toMatch(/check/)
  }, 330_000)
})
