import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/mock/runtime/config.js'
import { ensureSecret, readSecretFile, secretFilePath } from '../../../src/mock/runtime/secret.js'
import { SECOND_SECRET, TEST_SECRET, tempDataDir } from '../../support.js'

let data: Awaited<ReturnType<typeof tempDataDir>>
beforeEach(async () => {
  data = await tempDataDir()
})
afterEach(async () => {
  await data.cleanup()
})

describe('secretFilePath', () => {
  it('puts .secret beside DATA_FILE', () => {
    expect(secretFilePath('data/db.json')).toBe(join('data', '.secret'))
    expect(secretFilePath('/srv/talki/db.json')).toBe('/srv/talki/.secret')
  })
})

describe('ensureSecret', () => {
  describe('when TALKI_SECRET is unset and no secret file exists', () => {
    it('creates .secret beside DATA_FILE, mode 0600, and reports it as created', async () => {
      const result = await ensureSecret({ secrets: undefined, dataFile: data.dataFile })
      const file = join(data.dir, '.secret')
      expect(result.file).toBe(file)
      expect(result.created).toMatch(/^[0-9a-f]{64}$/)
      expect(result.secrets).toEqual([result.created])
      expect(await readFile(file, 'utf8')).toBe(`${result.created}\n`)
      expect((await stat(file)).mode & 0o777).toBe(0o600)
    })

    it('creates the folder of DATA_FILE when it is missing', async () => {
      const dataFile = join(data.dir, 'nested', 'deeper', 'db.json')
      const result = await ensureSecret({ secrets: undefined, dataFile })
      expect(await readFile(join(data.dir, 'nested', 'deeper', '.secret'), 'utf8')).toBe(
        `${result.created}\n`,
      )
    })
  })

  describe('when the secret file already exists', () => {
    it('reuses the same secret and does not report it as created (printed once only)', async () => {
      const first = await ensureSecret({ secrets: undefined, dataFile: data.dataFile })
      const second = await ensureSecret({ secrets: undefined, dataFile: data.dataFile })
      expect(first.created).toBeDefined()
      expect(second.created).toBeUndefined()
      expect(second.secrets).toEqual(first.secrets)
      expect(second.file).toBe(first.file)
    })

    it('reads a hand-written file without a trailing newline', async () => {
      await writeFile(join(data.dir, '.secret'), 'hand-written-secret')
      const result = await ensureSecret({ secrets: undefined, dataFile: data.dataFile })
      expect(result).toEqual({ secrets: ['hand-written-secret'], file: join(data.dir, '.secret') })
    })
  })

  describe('when TALKI_SECRET is given', () => {
    it('returns the given secrets untouched and writes no file', async () => {
      const given = [TEST_SECRET, SECOND_SECRET]
      const result = await ensureSecret({ secrets: given, dataFile: data.dataFile })
      expect(result).toEqual({ secrets: [TEST_SECRET, SECOND_SECRET] })
      expect(result.created).toBeUndefined()
      expect((await readdir(data.dir)).sort()).toEqual(['seed.json'])
    })
  })
})

describe('readSecretFile', () => {
  it('answers undefined when the file does not exist', async () => {
    expect(await readSecretFile(join(data.dir, '.secret'))).toBeUndefined()
  })

  const bad = [
    { name: 'an empty file', text: '' },
    { name: 'only a newline', text: '\n' },
    { name: 'a leading space', text: ' secret\n' },
    { name: 'two trailing newlines', text: 'secret\n\n' },
    { name: 'a list', text: 'one,two\n' },
  ]
  for (const row of bad) {
    it(`refuses ${row.name} with a ConfigError that does not print the content`, async () => {
      const file = join(data.dir, '.secret')
      await writeFile(file, row.text)
      const error = await readSecretFile(file).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).message).toContain(file)
      expect((error as ConfigError).message).not.toContain('secret\n')
      expect((error as ConfigError).message).not.toContain('one,two')
    })
  }
})
