import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Verdict } from '../../src/template/protocol.js'
import { sign, verifySignature } from '../../src/template/signature.js'
import { createWebVerifier } from '../../src/template/web.js'
import { SECOND_SECRET, TEST_SECRET } from '../support.js'

const VERDICTS: readonly Verdict[] = [
  'valid',
  'missing_signature',
  'malformed_signature',
  'invalid_signature',
]
const bytes = (text: string) => new TextEncoder().encode(text)

// Each digest below was computed with the command in its comment, not with the code under test.
const KNOWN_ANSWERS = [
  {
    // printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
    name: 'the vendor example body under TEST_SECRET',
    secret: TEST_SECRET,
    body: '{"userToken":"usr_abc123"}',
    hex: 'c9db3bfddcfc85e7f43790bfef0ccc2618adf476fbcbbd85227d8cf481212bd7',
  },
  {
    // printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'rotated-secret-abcdef'
    name: 'the vendor example body under SECOND_SECRET',
    secret: SECOND_SECRET,
    body: '{"userToken":"usr_abc123"}',
    hex: 'dc35afae4cdc5dec3f9f3cde9f80a0082427a7ebf047fb90eb33d93af403e2d4',
  },
  {
    // printf '%s' '{ "userToken": "usr_abc123" }' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
    name: 'the same JSON with spaces (the raw bytes count, not the parsed value)',
    secret: TEST_SECRET,
    body: '{ "userToken": "usr_abc123" }',
    hex: '5e40bf240e0cb386633218aa164736525acf83707c99d18f2e0fa0e60abd296b',
  },
  {
    // printf '%s' '' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
    name: 'an empty body',
    secret: TEST_SECRET,
    body: '',
    hex: '3e562e82f5398b7ed1ef211fed6b88a6b913174988dd3d963afeb2d3dad7d8dc',
  },
  {
    // printf '%s' '{"userToken":"usr_ünïcødé"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'   (UTF-8 terminal)
    name: 'a non-ASCII body, signed over its UTF-8 bytes',
    secret: TEST_SECRET,
    body: '{"userToken":"usr_ünïcødé"}',
    hex: 'e43b4df85805498304db0c3eb6bb54e52176ac7f24203b65a35a37c23d664464',
  },
  {
    // GitHub's webhook documentation example, checked here with:
    // printf '%s' 'Hello, World!' | openssl dgst -sha256 -hmac "It's a Secret to Everybody"
    name: "GitHub's documented webhook example",
    secret: "It's a Secret to Everybody",
    body: 'Hello, World!',
    hex: '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
  },
]

const VALID_HEX = KNOWN_ANSWERS[0]?.hex ?? ''
const VALID_BODY = bytes('{"userToken":"usr_abc123"}')

describe('sign', () => {
  for (const vector of KNOWN_ANSWERS) {
    it(`matches openssl for ${vector.name}`, () => {
      expect(sign(vector.secret, vector.body)).toBe(vector.hex)
      expect(sign(vector.secret, bytes(vector.body))).toBe(vector.hex)
    })
  }
})

/**
 * The two verifiers with the same verdicts: signature.ts (node:crypto) and web.ts (Web Crypto). Every
 * case below runs against both.
 */
const VERIFIERS: {
  name: string
  verify: (body: Uint8Array, header: string | string[] | undefined, secrets: string[]) => Promise<Verdict>
}[] = [
  {
    name: 'verifySignature (signature.ts)',
    verify: async (body, header, secrets) => verifySignature(body, header, secrets),
  },
  {
    name: 'createWebVerifier (web.ts)',
    verify: (body, header, secrets) => createWebVerifier(secrets)(body, header),
  },
]

for (const { name, verify } of VERIFIERS) {
  describe(name, () => {
    describe('with a known-answer signature', () => {
      for (const vector of KNOWN_ANSWERS) {
        it(`answers valid for ${vector.name}, in lowercase and uppercase hex`, async () => {
          expect(await verify(bytes(vector.body), vector.hex, [vector.secret])).toBe('valid')
          expect(await verify(bytes(vector.body), vector.hex.toUpperCase(), [vector.secret])).toBe('valid')
        })
      }

      it('answers valid for mixed-case hex', async () => {
        const mixed = [...VALID_HEX].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('')
        expect(await verify(VALID_BODY, mixed, [TEST_SECRET])).toBe('valid')
      })
    })

    describe('with no header', () => {
      it('answers missing_signature for undefined and for an empty header', async () => {
        expect(await verify(VALID_BODY, undefined, [TEST_SECRET])).toBe('missing_signature')
        expect(await verify(VALID_BODY, '', [TEST_SECRET])).toBe('missing_signature')
      })
    })

    describe('with a header outside the grammar (64 hex digits, nothing else)', () => {
      const rows: { name: string; header: string | string[] }[] = [
        { name: 'one digit short', header: VALID_HEX.slice(0, 63) },
        { name: 'one digit long', header: `${VALID_HEX}0` },
        { name: 'half length (a SHA-1 sized digest)', header: VALID_HEX.slice(0, 40) },
        { name: 'double length', header: VALID_HEX + VALID_HEX },
        { name: 'a non-hex letter', header: `${VALID_HEX.slice(0, 63)}g` },
        { name: 'all zeros but one "x"', header: `x${'0'.repeat(63)}` },
        { name: 'the sha256= prefix', header: `sha256=${VALID_HEX}` },
        { name: 'the SHA256= prefix', header: `SHA256=${VALID_HEX}` },
        { name: 'a 0x prefix', header: `0x${VALID_HEX.slice(2)}` },
        { name: 'a comma-separated list', header: `${VALID_HEX},${VALID_HEX}` },
        { name: 'a list joined by Node from duplicates', header: `${VALID_HEX}, ${VALID_HEX}` },
        { name: 'duplicates kept as an array', header: [VALID_HEX, VALID_HEX] },
        { name: 'a one-item array', header: [VALID_HEX] },
        { name: 'a leading space', header: ` ${VALID_HEX}` },
        { name: 'a trailing newline', header: `${VALID_HEX}\n` },
        { name: 'a space inside', header: `${VALID_HEX.slice(0, 32)} ${VALID_HEX.slice(32)}` },
        { name: 'only white space', header: '   ' },
        { name: 'a non-ASCII digit', header: `${VALID_HEX.slice(0, 63)}٣` },
        { name: 'a full-width hex letter', header: `${VALID_HEX.slice(0, 63)}ａ` },
        { name: 'base64 of the digest', header: Buffer.from(VALID_HEX, 'hex').toString('base64') },
        { name: 'an emoji', header: '🔑'.repeat(32) },
        { name: 'a NUL byte', header: `${VALID_HEX.slice(0, 63)}\0` },
      ]
      for (const row of rows) {
        it(`answers malformed_signature for ${row.name}, never throws`, async () => {
          expect(await verify(VALID_BODY, row.header, [TEST_SECRET])).toBe('malformed_signature')
        })
      }
    })

    describe('with a well-formed header that is not the HMAC', () => {
      it('answers invalid_signature for the HMAC under another secret', async () => {
        expect(await verify(VALID_BODY, VALID_HEX, ['another-secret'])).toBe('invalid_signature')
      })
      it('answers invalid_signature for the HMAC of other bytes', async () => {
        expect(await verify(bytes('{"userToken":"usr_abc124"}'), VALID_HEX, [TEST_SECRET])).toBe(
          'invalid_signature',
        )
      })
      it('answers invalid_signature for 64 zeros', async () => {
        expect(await verify(VALID_BODY, '0'.repeat(64), [TEST_SECRET])).toBe('invalid_signature')
      })
      it('answers invalid_signature when no secret is configured', async () => {
        expect(await verify(VALID_BODY, VALID_HEX, [])).toBe('invalid_signature')
      })
    })

    describe('with several secrets (rotation)', () => {
      // printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'rotated-secret-abcdef'
      const SECOND_HEX = 'dc35afae4cdc5dec3f9f3cde9f80a0082427a7ebf047fb90eb33d93af403e2d4'
      it('answers valid for a signature under the first secret', async () => {
        expect(await verify(VALID_BODY, VALID_HEX, [TEST_SECRET, SECOND_SECRET])).toBe('valid')
      })
      it('answers valid for a signature under the second secret', async () => {
        expect(await verify(VALID_BODY, SECOND_HEX, [TEST_SECRET, SECOND_SECRET])).toBe('valid')
      })
      it('answers valid for a signature under the last of three secrets', async () => {
        expect(await verify(VALID_BODY, SECOND_HEX, ['a', TEST_SECRET, SECOND_SECRET])).toBe('valid')
      })
      it('answers invalid_signature when none of them signed', async () => {
        expect(await verify(VALID_BODY, sign('third', VALID_BODY), [TEST_SECRET, SECOND_SECRET])).toBe(
          'invalid_signature',
        )
      })
    })

    describe('properties', () => {
      const secretArb = fc.string({ minLength: 1, maxLength: 40 })
      const bodyArb = fc.uint8Array({ maxLength: 512 })

      it('accepts its own signature over arbitrary bytes', async () => {
        await fc.assert(
          fc.asyncProperty(bodyArb, secretArb, async (body, secret) => {
            expect(await verify(body, sign(secret, body), [secret])).toBe('valid')
          }),
          { numRuns: 300 },
        )
      })

      it('never throws and always returns one of the four verdicts for arbitrary headers', async () => {
        const headerArb = fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.stringMatching(/^[0-9a-fA-F]{60,68}$/),
          fc.array(fc.string({ maxLength: 70 }), { maxLength: 3 }),
          fc.constant(undefined),
        )
        await fc.assert(
          fc.asyncProperty(
            bodyArb,
            headerArb,
            fc.array(secretArb, { maxLength: 3 }),
            async (body, header, secrets) => {
              const verdict = await verify(body, header, secrets)
              expect(VERDICTS).toContain(verdict)
            },
          ),
          { numRuns: 500 },
        )
      })

      it('accepts exactly the HMAC: changing any one hex digit makes it invalid', async () => {
        await fc.assert(
          fc.asyncProperty(
            bodyArb,
            secretArb,
            fc.nat({ max: 63 }),
            fc.integer({ min: 1, max: 15 }),
            async (body, secret, position, delta) => {
              const hex = sign(secret, body)
              const digit = (Number.parseInt(hex[position] ?? '0', 16) + delta) % 16
              const changed = hex.slice(0, position) + digit.toString(16) + hex.slice(position + 1)
              expect(await verify(body, changed, [secret])).toBe('invalid_signature')
            },
          ),
          { numRuns: 300 },
        )
      })

      it('answers malformed_signature for every header that is not 64 hex digits', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.string({ minLength: 1, maxLength: 100 }).filter((h) => !/^[0-9a-fA-F]{64}$/.test(h)),
            async (header) => {
              expect(await verify(VALID_BODY, header, [TEST_SECRET])).toBe('malformed_signature')
            },
          ),
          { numRuns: 300 },
        )
      })
    })
  })
}
