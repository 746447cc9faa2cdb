import type { ServerResponse } from 'node:http'
import type { Request, Response } from 'express'
import helmet from 'helmet'

// How every endpoint answer is written: helmet's headers, `Cache-Control: no-store` (answers carry
// personal data) and JSON. The headers are computed once, from helmet itself, and written in one
// `writeHead` call: cheaper than running helmet's dozen middleware and Express's `res.json` per request.

function securityHeaders(): [string, string][] {
  const headers = new Map<string, string>()
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  }
  helmet()({} as Request, recorder as unknown as Response, () => {})
  headers.set('Cache-Control', 'no-store')
  return [...headers]
}

export const SECURITY_HEADERS: readonly [string, string][] = securityHeaders()
const FLAT_HEADERS: readonly string[] = SECURITY_HEADERS.flat()

export interface Answer {
  status: number
  body: unknown
  headers?: Record<string, string>
}

/** Writes `text` with the security headers; `text` is sent as is (a truncated one for `malformed`). */
export function respondText(
  res: ServerResponse,
  status: number,
  text: string,
  extra?: Record<string, string>,
): void {
  const headers = [
    ...FLAT_HEADERS,
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(text)),
  ]
  if (extra) for (const name in extra) headers.push(name, extra[name] as string)
  res.writeHead(status, headers).end(text)
}

export function respond(res: ServerResponse, answer: Answer): void {
  respondText(res, answer.status, JSON.stringify(answer.body), answer.headers)
}
