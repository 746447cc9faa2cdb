import { createServer } from 'node:http'

// What API Gateway's HTTP API (payload format 2.0) and Lambda function URLs do in front of a function,
// on node:http: read the whole request, turn it into a v2 event (header names in lower case, a repeated
// header joined with commas, the body in base64 when `base64` is on, as for a binary content type), call
// the handler, and write its result as the answer. Plain JavaScript with no dependency, so that
// package-stacks.test.ts copies this very file into its Lambda scratch app.

/**
 * @param {(event: any) => Promise<{ statusCode: number, headers?: Record<string, string>, body?: string, isBase64Encoded?: boolean }>} handler
 * @param {{ base64: boolean }} options
 */
export function lambdaShim(handler, options) {
  return createServer(async (req, res) => {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const result = await handler(toEvent(req, Buffer.concat(chunks), options.base64))
    res.writeHead(result.statusCode, result.headers)
    res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : result.body)
  })
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {Buffer} body
 * @param {boolean} base64
 */
function toEvent(req, body, base64) {
  const url = new URL(req.url ?? '/', 'http://lambda.local')
  /** @type {Record<string, string>} */
  const headers = {}
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = String(req.rawHeaders[i]).toLowerCase()
    const value = String(req.rawHeaders[i + 1])
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`
  }
  const method = req.method ?? 'GET'
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: { http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' } },
    // No body at all: API Gateway leaves `body` out.
    ...(body.length > 0 ? { body: body.toString(base64 ? 'base64' : 'utf8') } : {}),
    isBase64Encoded: base64 && body.length > 0,
  }
}
