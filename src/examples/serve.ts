import { createServer, type RequestListener, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { listen, SERVER_OPTIONS } from '../mock/runtime/listen.js'
import type { EndpointOptions } from '../template/customer-route.js'

/** What every example is started with: the template's options, plus where to listen. */
export interface ExampleOptions extends EndpointOptions {
  path: string
  port: number
  host: string
  /** PEM certificate and key: the example serves HTTPS (TLS_CERT/TLS_KEY, or TLS=self-signed). */
  tls?: { cert: string; key: string } | undefined
}

export interface RunningExample {
  port: number
  /** Stops accepting, lets in-flight requests finish (at most `graceMs`), then cuts what is left. */
  close(graceMs: number): Promise<void>
}

export type StartExample = (options: ExampleOptions) => Promise<RunningExample>

/** Serves a `node:http` listener (Express, the bare listener) with the server's timeouts. */
export async function serveListener(
  listener: RequestListener,
  options: ExampleOptions,
): Promise<RunningExample> {
  const server = options.tls
    ? createHttpsServer({ ...SERVER_OPTIONS, ...options.tls }, listener)
    : createServer(SERVER_OPTIONS, listener)
  return serveNodeServer(server as Server, options)
}

export async function serveNodeServer(server: Server, options: ExampleOptions): Promise<RunningExample> {
  const port = await listen(server, options.port, options.host)
  return {
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), graceMs).unref()
      }),
  }
}
