import { createHmac, timingSafeEqual } from 'node:crypto'
import { SIGNATURE_GRAMMAR, type Verdict } from './protocol.js'

// Pure: no framework, no environment. Talki signs the raw body with HMAC-SHA256 and sends the digest as
// 64 lowercase hex digits in `X-Talki-Signature`. (web.ts does the same with Web Crypto.)

/** The lowercase hex HMAC-SHA256 of `body` under `secret`: what `openssl dgst -sha256 -hmac` prints. */
export function sign(secret: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}

/**
 * Checks `header` against the HMAC of the exact bytes received, under every configured secret (any one
 * verifies, for rotation). Never throws: every input gets a verdict.
 */
export function verifySignature(
  body: Uint8Array,
  header: string | string[] | null | undefined,
  secrets: readonly string[],
): Verdict {
  if (header === undefined || header === null || header === '') return 'missing_signature'
  if (typeof header !== 'string' || !SIGNATURE_GRAMMAR.test(header)) return 'malformed_signature'
  // The grammar guarantees 32 bytes, so timingSafeEqual cannot throw on a length mismatch.
  const received = Buffer.from(header, 'hex')
  let matched = false
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest()
    // No early return: every secret is compared, so timing does not tell which one matched.
    matched = timingSafeEqual(received, expected) || matched
  }
  return matched ? 'valid' : 'invalid_signature'
}
