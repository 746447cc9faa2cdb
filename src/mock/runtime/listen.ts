import type { Server } from 'node:net'
import { ConfigError } from './config-error.js'

// Listening on a port, shared by the server (main.ts) and the integrator examples (src/examples/).

export const SERVER_OPTIONS = {
  // Slow or idle clients cannot pin sockets: the whole request must arrive within 15 s, its headers
  // within 10 s, and an idle kept-alive socket is closed after 5 s. Checked every second.
  requestTimeout: 15_000,
  headersTimeout: 10_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
}

/** The variables that set a server's port and address, named when the system refuses them. */
export interface ListenVariables {
  port: string
  host: string
}

const ENDPOINT_VARIABLES: ListenVariables = { port: 'PORT', host: 'HOST' }

/**
 * Listens and resolves with the port (the one chosen when `port` is 0), or throws a ConfigError naming
 * the variable to change when the port or address is refused.
 */
export function listen(
  server: Server,
  port: number,
  host: string,
  names: ListenVariables = ENDPOINT_VARIABLES,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => reject(listenError(error, port, host, names))
    server.once('error', refused)
    server.listen(port, host, () => {
      server.off('error', refused)
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : port)
    })
  })
}

function listenError(
  error: NodeJS.ErrnoException,
  port: number,
  host: string,
  names: ListenVariables,
): Error {
  const where = hostPort(host, port)
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `${names.port} ${port} is in use (${where}): stop what listens there, or set ${names.port}=<another port> (${names.port}=0 picks a free one)`,
      )
    case 'EACCES':
      return new ConfigError(
        `${names.port} ${port} needs privileges this process lacks (${where}): set ${names.port} to 1024 or above`,
      )
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        `${names.host} ${host} is not an address of this machine: set ${names.host}=127.0.0.1 or 0.0.0.0`,
      )
    default:
      return error
  }
}

/** A URL a local client can open: 0.0.0.0 and :: shown as 127.0.0.1, IPv6 in brackets. */
export function reachableUrl(
  host: string,
  port: number,
  path: string,
  scheme: 'http' | 'https' = 'http',
): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return `${scheme}://${hostPort(shown, port)}${path}`
}

/** `0.0.0.0:3000`, `[::1]:3000`. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}
