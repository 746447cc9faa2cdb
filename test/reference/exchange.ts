import { type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http'

// One request over a fresh connection, as raw as node:http allows: any method, a header sent twice
// (an array), Latin-1 header bytes, a declared length with no body behind it.

export interface WireRequest {
  method: string
  path: string
  headers: OutgoingHttpHeaders
  body: string | Buffer
  /** Send the headers only and never end the request (a declared body that does not come). */
  unfinished?: boolean
}

export interface WireAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

export function exchange(base: URL, wire: WireRequest): Promise<WireAnswer> {
  return new Promise((resolve, reject) => {
    // A body goes with its length (node:http frames none for GET, DELETE or OPTIONS), unless the
    // request names its own framing.
    const framed = 'Content-Length' in wire.headers || 'Transfer-Encoding' in wire.headers
    const length = framed || wire.body.length === 0 ? {} : { 'Content-Length': Buffer.byteLength(wire.body) }
    const req = request(new URL(wire.path, base), {
      method: wire.method,
      headers: { ...length, ...wire.headers },
      agent: false,
      timeout: 10_000,
    })
    req.on('timeout', () => req.destroy(new Error(`${wire.method} ${wire.path}: no answer in 10 s`)))
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        })
        req.destroy()
      })
    })
    if (wire.unfinished) req.flushHeaders()
    else req.end(wire.body)
  })
}
