import { isUtf8 } from 'node:buffer'
import type { NextFunction, Request, Response } from 'express'
import getRawBody from 'raw-body'
import { type Issue, invalidRequest, Refusal } from './refusal.js'

// How the admin API reads a body. PUT and POST take `application/json`, PATCH takes
// `application/merge-patch+json`; any other method's body is never read (ignored, as the document
// says). After this, `req.body` is `undefined` for a body of zero bytes and the parsed JSON otherwise:
// nothing else, so "no body" can never be mistaken for `{}`.

export const MERGE_PATCH = 'application/merge-patch+json'
const READ_METHODS = new Set(['PUT', 'POST', 'PATCH'])
/** Keys that would reach an object's prototype if a later step assigned them: refused, never dropped. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

function mediaTypeFor(method: string): string {
  return method === 'PATCH' ? MERGE_PATCH : 'application/json'
}

/** The largest body an admin call reads: 1 MiB, far above any user record or override. */
export const ADMIN_BODY_LIMIT = 1024 * 1024

export function jsonBody(limit: number) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    req.body = undefined
    if (!READ_METHODS.has(req.method)) return next()
    const length = req.headers['content-length']
    const declaredEmpty =
      req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')
    if (declaredEmpty) return next()
    const mediaType = mediaTypeFor(req.method)
    if (req.is(mediaType) !== mediaType) {
      return next(
        new Refusal('unsupported_media_type', [
          { message: `${req.method} takes an ${mediaType} body (Content-Type: ${mediaType})` },
        ]),
      )
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
    if (encoding !== 'identity') {
      return next(
        invalidRequest(`the body is not JSON: Content-Encoding ${encoding} is not accepted, send it as is`),
      )
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i
      .exec(req.headers['content-type'] ?? '')?.[1]
      ?.toLowerCase()
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return next(invalidRequest(`the body is not JSON: charset ${charset} is not accepted, JSON is UTF-8`))
    }
    let bytes: Buffer
    try {
      bytes = await getRawBody(req, { limit, length: length ?? null })
    } catch (error) {
      return next(readFailure(error, limit))
    }
    if (bytes.length === 0) return next()
    if (!isUtf8(bytes)) return next(invalidRequest('the body is not JSON: it is not valid UTF-8'))
    try {
      req.body = JSON.parse(bytes.toString('utf8'))
    } catch (error) {
      return next(invalidRequest(`the body is not JSON: ${(error as Error).message}`))
    }
    const problem = findKeyProblem(req.body)
    if (problem) return next(new Refusal('invalid_request', [problem]))
    next()
  }
}

function readFailure(error: unknown, limit: number): unknown {
  const type = (error as { type?: unknown }).type
  if (type === 'entity.too.large') {
    // The rest of a body over the limit is not worth reading: the connection goes with the answer.
    return new Refusal('payload_too_large', [{ message: `the body is over ${limit} bytes` }], {
      Connection: 'close',
    })
  }
  if (type === 'request.size.invalid') {
    return invalidRequest('the body is not JSON: its length does not match Content-Length')
  }
  return error
}

/** Deeper than any record or scenario can be; past it a body is refused before anything walks it. */
const MAX_DEPTH = 32

/**
 * The first problem of a parsed JSON value's keys: a forbidden key, or nesting past MAX_DEPTH. Walked
 * with a stack of its own, so a hostile body cannot exhaust the call stack.
 */
function findKeyProblem(root: unknown): Issue | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next
    if (typeof value !== 'object' || value === null) continue
    if (path.length > MAX_DEPTH)
      return { message: `the body is nested deeper than ${MAX_DEPTH} levels`, path }
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? [...value.entries()]
      : Object.entries(value)
    for (const [key, item] of entries) {
      if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) {
        return { message: `the key "${key}" is not accepted anywhere in a body`, path: [...path, key] }
      }
      stack.push({ value: item, path: [...path, key] })
    }
  }
  return undefined
}
