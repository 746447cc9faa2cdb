import type { Server } from 'node:http'

// Real downtime: the endpoint's listener is closed, so new connections are refused (ECONNREFUSED), and
// every open or kept-alive connection is cut; after `durationMs` it listens again on the same address.

export class Downtime {
  #server: Server | undefined
  #address: { port: number; host: string } | undefined
  #timer: NodeJS.Timeout | undefined
  #until = 0
  readonly #onEnd: () => void

  /** `onEnd` runs each time the port reopens (a global `down` override clears itself then). */
  constructor(onEnd: () => void = () => {}) {
    this.#onEnd = onEnd
  }

  /** Called once the server listens; `port` is the real one (PORT=0 picks a free port). */
  attach(server: Server, address: { port: number; host: string }): void {
    this.#server = server
    this.#address = address
  }

  get isDown(): boolean {
    return this.#timer !== undefined
  }

  /** Epoch ms when the port reopens, or null when it is up. */
  get until(): number | null {
    return this.isDown ? this.#until : null
  }

  /** Closes the port for `durationMs`. A new downtime while down extends or shortens it to the new end. */
  start(durationMs: number): void {
    const server = this.#server
    if (!server) return
    clearTimeout(this.#timer)
    if (server.listening) server.close()
    server.closeAllConnections()
    this.#until = Date.now() + durationMs
    this.#timer = setTimeout(() => this.end(), durationMs)
  }

  /** Reopens the port now (DELETE /api/simulation, POST /api/reset, shutdown does not call it). */
  end(): Promise<void> {
    const server = this.#server
    const address = this.#address
    if (this.#timer === undefined || !server || !address) return Promise.resolve()
    clearTimeout(this.#timer)
    this.#timer = undefined
    return new Promise((resolve) => {
      const reopened = () => {
        server.off('error', failed)
        this.#onEnd()
        resolve()
      }
      const failed = () => {
        server.off('listening', reopened)
        // The port was taken meanwhile: try again shortly rather than stay down for good.
        this.#timer = setTimeout(() => void this.end(), 250)
        resolve()
      }
      server.once('error', failed)
      server.listen(address.port, address.host, reopened)
    })
  }

  /** Stops a pending reopen (shutdown). */
  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
