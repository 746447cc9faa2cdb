import type { Server } from 'node:http'

// Listening on a port, shared by the server (main.ts) and the integrator examples (src/examples/).

export const SERVER_OPTIONS = {
  // Slow or idle clients cannot pin sockets: the whole request must arrive within 15 s, its headers
  // within 10 s, and an idle kept-alive socket is closed after 5 s. Checked every second.
  requestTimeout: 15_000,
  headersTimeout: 10_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
}

/** Listens and resolves with the port (the one chosen when `port` is 0). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : port)
    })
  })
}

/** A URL a local client can open: 0.0.0.0 and :: shown as 127.0.0.1, IPv6 in brackets. */
export function reachableUrl(host: string, port: number, path: string): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}${path}`
}
