import type { ServerResponse } from 'node:http'
import { ANSWER_HEADERS, type Answer } from '../../template/protocol.js'

// How every endpoint answer of the mock is written: the template's answer headers (helmet's defaults,
// `Cache-Control: no-store`, JSON) in one `writeHead` call — cheaper than running helmet's dozen
// middleware and Express's `res.json` per request. The header list is built once; a request only fills
// in its Content-Length.

/** The answer headers but `Content-Type`, which `respondText` writes beside `Content-Length`. */
export const SECURITY_HEADERS: readonly [string, string][] = Object.entries(ANSWER_HEADERS).filter(
  ([name]) => name !== 'Content-Type',
)

/** The flat header list with `extra`'s headers, its last value the Content-Length to fill in. */
function headerList(extra?: Readonly<Record<string, string>>): string[] {
  const headers = SECURITY_HEADERS.flat()
  headers.push('Content-Type', 'application/json; charset=utf-8')
  if (extra) for (const name in extra) headers.push(name, extra[name] as string)
  headers.push('Content-Length', '')
  return headers
}

// writeHead reads a list synchronously into the response's own header block and keeps no reference to
// it, so one list per set of extra headers serves every answer.
const PLAIN = headerList()
/** The fixed answers' extra headers (`Retry-After`, `Allow`…) are constants: their lists are built once. */
const WITH_EXTRA = new WeakMap<Readonly<Record<string, string>>, string[]>()

function headersFor(extra: Readonly<Record<string, string>> | undefined): string[] {
  if (extra === undefined) return PLAIN
  let headers = WITH_EXTRA.get(extra)
  if (headers === undefined) {
    headers = headerList(extra)
    WITH_EXTRA.set(extra, headers)
  }
  return headers
}

/** Writes `text` with the security headers; `text` is sent as is (a truncated one for `malformed`). */
export function respondText(
  res: ServerResponse,
  status: number,
  text: string,
  extra?: Readonly<Record<string, string>>,
): void {
  const headers = headersFor(extra)
  headers[headers.length - 1] = String(Buffer.byteLength(text))
  res.writeHead(status, headers).end(text)
}

export function respond(
  res: ServerResponse,
  answer: Pick<Answer, 'status' | 'headers'> & { body: unknown },
): void {
  respondText(res, answer.status, JSON.stringify(answer.body), answer.headers)
}
