import { MAX_TOKEN_LENGTH } from '../../../template/protocol.js'
import { PLAIN_RECORD_KEYS } from '../record.js'

// A byte scanner for the common case of a store line: a record exactly as JSON.stringify writes a valid
// one (no spaces, no escapes, known keys only, `fields` of strings, booleans and plain numbers). It reads
// the token without parsing the line, which is most of the cost of opening a million users. Whatever it
// does not recognise, it leaves to JSON.parse and zod (load.ts); test/store.test.ts checks, property by
// property, that it never accepts a line those would refuse, nor reads a different token.

const QUOTE = 0x22

const BACKSLASH = 0x5c

const COMMA = 0x2c

const COLON = 0x3a

const OPEN = 0x7b

const CLOSE = 0x7d

const KEYS = PLAIN_RECORD_KEYS.map((key) => Buffer.from(key))

const TOKEN = 0

const FIELDS = 4

const PROTO_KEY = Buffer.from('__proto__')

/**
 * The token of a line written as JSON.stringify writes a record that looksValid accepts, read from the
 * bytes without building the record (JSON.parse was ~75% of opening 1M users): an object with no
 * whitespace and no escapes, each of userToken, name, email, plan, fields at most once, strings for the
 * first four, and fields an object of strings, booleans and numbers without exponent (always finite).
 * Undefined for anything else, which `checkedToken` judges the usual way. It only ever says yes where
 * JSON.parse + looksValid would, and names the same token (test/store.test.ts checks it against them).
 */
export function plainRecordToken(b: Buffer, start: number, end: number): string | undefined {
  if (b[start] !== OPEN) return undefined
  let i = start + 1
  let seen = 0
  let tokenStart = -1
  let tokenEnd = -1
  for (;;) {
    if (b[i] !== QUOTE) return undefined
    const keyEnd = stringEnd(b, i + 1, end)
    if (keyEnd < 0 || b[keyEnd + 1] !== COLON) return undefined
    const key = keyIndex(b, i + 1, keyEnd)
    if (key < 0 || seen & (1 << key)) return undefined
    seen |= 1 << key
    i = keyEnd + 2
    if (key === FIELDS) {
      i = fieldsEnd(b, i, end)
      if (i < 0) return undefined
    } else {
      if (b[i] !== QUOTE) return undefined
      const valueEnd = stringEnd(b, i + 1, end)
      if (valueEnd < 0) return undefined
      if (key === TOKEN) {
        tokenStart = i + 1
        tokenEnd = valueEnd
      }
      i = valueEnd + 1
    }
    if (b[i] === COMMA) i++
    else if (b[i] === CLOSE && i + 1 === end) break
    else return undefined
  }
  if (tokenStart < 0) return undefined
  const token = b.toString('utf8', tokenStart, tokenEnd)
  return token.length >= 1 && token.length <= MAX_TOKEN_LENGTH ? token : undefined
}

/** Which of KEYS the bytes `from`–`to` spell, or -1. */
function keyIndex(b: Buffer, from: number, to: number): number {
  const length = to - from
  for (let k = 0; k < KEYS.length; k++) {
    const key = KEYS[k] as Buffer
    if (key.length === length && b[from] === key[0] && bytesAre(b, from, to, key)) return k
  }
  return -1
}

/** Index of the quote closing a string whose text starts at `i`; -1 if it holds an escape or a control character. */
function stringEnd(b: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const c = b[i] as number
    if (c === QUOTE) return i
    if (c === BACKSLASH || c < 0x20) return -1
  }
  return -1
}

function bytesAre(b: Buffer, from: number, to: number, key: Buffer): boolean {
  if (to - from !== key.length) return false
  for (let k = 0; k < key.length; k++) if (b[from + k] !== key[k]) return false
  return true
}

/** Index just past the `fields` object starting at `i`, or -1 if it is not a plain one. */
function fieldsEnd(b: Buffer, i: number, end: number): number {
  if (b[i] !== OPEN) return -1
  i++
  if (b[i] === CLOSE) return i + 1
  for (;;) {
    if (b[i] !== QUOTE) return -1
    const keyEnd = stringEnd(b, i + 1, end)
    if (keyEnd < 0 || b[keyEnd + 1] !== COLON || bytesAre(b, i + 1, keyEnd, PROTO_KEY)) return -1
    i = keyEnd + 2
    const c = b[i]
    if (c === QUOTE) {
      const valueEnd = stringEnd(b, i + 1, end)
      if (valueEnd < 0) return -1
      i = valueEnd + 1
    } else if (c === 0x74 /* t */ && bytesAre(b, i, i + 4, TRUE)) i += 4
    else if (c === 0x66 /* f */ && bytesAre(b, i, i + 5, FALSE)) i += 5
    else {
      i = numberEnd(b, i, end)
      if (i < 0) return -1
    }
    if (b[i] === COMMA) i++
    else if (b[i] === CLOSE) return i + 1
    else return -1
  }
}

const TRUE = Buffer.from('true')

const FALSE = Buffer.from('false')

/** Index just past a JSON number at `i` with at most 300 integer digits and no exponent, else -1. */
function numberEnd(b: Buffer, i: number, end: number): number {
  if (b[i] === 0x2d /* - */) i++
  const first = i
  if (b[i] === 0x30 /* 0 */) i++
  else while (i < end && isDigit(b[i] as number)) i++
  if (i === first || i - first > 300) return -1
  if (b[i] === 0x2e /* . */) {
    const fraction = ++i
    while (i < end && isDigit(b[i] as number)) i++
    if (i === fraction) return -1
  }
  return b[i] === 0x65 || b[i] === 0x45 ? -1 : i // e, E
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}
