import { verifySignature } from '../../template/signature.js'
import type { Findings } from '../state/request-log.js'

// Why a signature did not verify, in terms an integrator can act on. Each finding only says whether the
// header fits a near variant of the body or secret; no computed signature is ever revealed.

const NEWLINE = Buffer.from('\n')

export function findSignatureClues(body: Uint8Array, header: string, secrets: readonly string[]): Findings {
  const fits = (bytes: Uint8Array, keys = secrets) => verifySignature(bytes, header, keys) === 'valid'
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  return {
    trailingNewlineAdded: fits(Buffer.concat([bytes, NEWLINE])),
    trailingNewlineRemoved: bytes.at(-1) === 0x0a && fits(bytes.subarray(0, -1)),
    reserialized: fits(Buffer.from(reserialize(bytes))),
    secretWhitespace: fits(
      bytes,
      secrets.map((secret) => `${secret}\n`),
    ),
  }
}

function reserialize(bytes: Buffer): string {
  try {
    return JSON.stringify(JSON.parse(bytes.toString('utf8')))
  } catch {
    return ''
  }
}
