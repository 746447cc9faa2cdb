import type { Request, Response } from 'express'
import helmet from 'helmet'
import { describe, expect, it } from 'vitest'
import {
  ANSWER_HEADERS,
  checkSecrets,
  isIdentityEncoding,
  readUserToken,
  toProfile,
} from '../../src/template/protocol.js'

describe('ANSWER_HEADERS', () => {
  it("are helmet's default headers, plus no-store and JSON", () => {
    const helmets: Record<string, string> = {}
    const recorder = {
      setHeader: (name: string, value: string) => {
        helmets[name] = value
      },
      removeHeader: (name: string) => {
        delete helmets[name]
      },
    }
    helmet()({} as Request, recorder as unknown as Response, () => {})
    expect(ANSWER_HEADERS).toEqual({
      ...helmets,
      'Cache-Control': 'no-store',
      'Content-Type': 'application/json; charset=utf-8',
    })
  })
})

describe('readUserToken', () => {
  const rows: { name: string; json: unknown; token: string | undefined }[] = [
    { name: 'the vendor example', json: { userToken: 'usr_abc123' }, token: 'usr_abc123' },
    { name: 'other keys beside it', json: { userToken: 'u', extra: 1 }, token: 'u' },
    { name: '256 characters', json: { userToken: 'x'.repeat(256) }, token: 'x'.repeat(256) },
    { name: '257 characters', json: { userToken: 'x'.repeat(257) }, token: undefined },
    { name: 'an empty string', json: { userToken: '' }, token: undefined },
    { name: 'a number', json: { userToken: 42 }, token: undefined },
    { name: 'no token key', json: {}, token: undefined },
    { name: 'an array', json: ['usr_abc123'], token: undefined },
    { name: 'null', json: null, token: undefined },
    { name: 'a string', json: 'usr_abc123', token: undefined },
    {
      name: 'a token inherited, not own',
      json: Object.create({ userToken: 'usr_abc123' }),
      token: undefined,
    },
  ]
  for (const row of rows) {
    it(`${row.name} → ${row.token === undefined ? 'no token' : 'the token'}`, () => {
      expect(readUserToken(row.json, 'userToken')).toBe(row.token)
    })
  }
})

describe('isIdentityEncoding', () => {
  it('accepts no header and identity in any case or padding, nothing else', () => {
    expect([undefined, null, 'identity', ' IDENTITY '].map(isIdentityEncoding)).toEqual([
      true,
      true,
      true,
      true,
    ])
    expect(['gzip', 'br', '', 'identity, gzip'].map(isIdentityEncoding)).toEqual([false, false, false, false])
  })
})

describe('toProfile', () => {
  it('keeps name, email, plan and fields only', () => {
    const stored = { userToken: 'usr_x', name: 'N', plan: 'p', simulate: 'slow', secret: 's' }
    expect(toProfile(stored)).toEqual({ name: 'N', plan: 'p' })
  })
})

describe('checkSecrets', () => {
  const NONE =
    'Talki signing secret: none given. Set TALKI_SECRET (the secret from the Talki console) and pass it as the `secrets` option'
  // [process.env.TALKI_SECRET!] with TALKI_SECRET unset is [undefined]; set but empty, [''].
  const rows: [string, unknown, string][] = [
    ['no secret at all', [], NONE],
    ['an unset TALKI_SECRET', [undefined], NONE],
    ['an empty TALKI_SECRET', [''], NONE],
    ['an empty second secret', ['a', ''], 'Talki signing secret #2 of 2 in `secrets` is empty'],
    ['a number', [42], 'Talki signing secret #1 of 1 in `secrets` is not a string (got number)'],
    [
      'a stray newline',
      ['secret\n'],
      'Talki signing secret #1 of 1 in `secrets` starts or ends with white space (a stray newline?)',
    ],
  ]
  for (const [name, secrets, message] of rows) {
    it(`refuses ${name}: ${message}`, () => {
      expect(() => checkSecrets(secrets as string[])).toThrow(new Error(message))
    })
  }

  it('accepts one or several secrets', () => {
    expect(() => checkSecrets(['a', 'b'])).not.toThrow()
  })
})
