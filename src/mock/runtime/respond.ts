import type { ServerResponse } from 'node:http'
import { ANSWER_HEADERS, type Answer } from '../../template/protocol.js'

// How every endpoint answer of the mock is written: the template's answer headers (helmet's defaults,
// `Cache-Control: no-store`, JSON) in one `writeHead` call — cheaper than running helmet's dozen
// middleware and Express's `res.json` per request.

/** The answer headers but `Content-Type`, which `respondText` writes beside `Content-Length`. */
export const SECURITY_HEADERS: readonly [string, string][] = Object.entries(ANSWER_HEADERS).filter(
  ([name]) => name !== 'Content-Type',
)
const FLAT_HEADERS: readonly string[] = SECURITY_HEADERS.flat()

/** Writes `text` with the security headers; `text` is sent as is (a truncated one for `malformed`). */
export function respondText(
  res: ServerResponse,
  status: number,
  text: string,
  extra?: Readonly<Record<string, string>>,
): void {
  const headers = FLAT_HEADERS.slice()
  headers.push(
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(text)),
  )
  if (extra) for (const name in extra) headers.push(name, extra[name] as string)
  res.writeHead(status, headers).end(text)
}

export function respond(
  res: ServerResponse,
  answer: Pick<Answer, 'status' | 'headers'> & { body: unknown },
): void {
  respondText(res, answer.status, JSON.stringify(answer.body), answer.headers)
}
