import type { RequestListener } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { Socket } from 'node:net'
import type { TlsFault, TlsScenarioName } from '../simulation/scenarios.js'
import type { TlsConfig } from './config.js'
import { SERVER_OPTIONS } from './listen.js'
import {
  certificateHosts,
  createFaultCertificates,
  ensureAuthority,
  ensureSelfSigned,
  type FaultCertificates,
  LOCAL_HOSTS,
  type LocalTlsFiles,
  localTlsFiles,
  type Pem,
  tlsDirectory,
} from './tls-certs.js'

// HTTPS for the mock's ports, and the TLS faults: each new connection on the endpoint is handed the
// certificate of the fault in force when it arrives (or held without an answer for tls_hang), so a
// fault set or cleared acts on the next connection while those already open keep theirs.

/** What the servers present: the good certificate, and the faults' (made from the same local CA). */
export interface TlsMaterial {
  server: Pem
  faults: FaultCertificates
  /** TLS=self-signed's files; for TLS_CERT/TLS_KEY, only the local CA the faults are issued from. */
  files: LocalTlsFiles
  /** TLS=self-signed: the local CA was made on this start. */
  created: boolean
  /** The names the good certificate is for. */
  hosts: string[]
}

/** Makes or reads the certificates of TLS=self-signed, or takes TLS_CERT/TLS_KEY's. */
export async function prepareTls(config: TlsConfig, dataFile: string): Promise<TlsMaterial> {
  const directory = tlsDirectory(dataFile)
  if (config.source === 'self-signed') {
    const hosts = [...new Set([...LOCAL_HOSTS, ...config.hosts])]
    const { authority, server, files, created } = await ensureSelfSigned(directory, hosts)
    return { server, faults: await createFaultCertificates(authority, hosts), files, created, hosts }
  }
  // The faults need a CA whose key is at hand: the local one (data/tls/ca.pem), which a client that
  // should see tls_expired or tls_wrong_host as such trusts besides the operator's.
  const server = { cert: config.cert, key: config.key }
  const { authority } = await ensureAuthority(directory)
  const named = certificateHosts(config.cert)
  const hosts = named.length > 0 ? named : [...LOCAL_HOSTS]
  const faults = await createFaultCertificates(authority, hosts)
  return { server, faults, files: localTlsFiles(directory), created: false, hosts }
}

/** The admin port: HTTPS with the good certificate always (the faults are the endpoint's). */
export function createHttpsServer(material: TlsMaterial, handler: RequestListener): Server {
  return createServer({ ...SERVER_OPTIONS, ...material.server }, handler)
}

/**
 * The endpoint over HTTPS, asking `fault()` at each new connection. `hanging` holds tls_hang's sockets,
 * so a shutdown cuts them at once; each is closed after its `maxMs` anyway.
 */
export function createFaultyHttpsServer(
  material: TlsMaterial,
  handler: RequestListener,
  options: { fault: () => TlsFault | null; hanging: Set<Socket> },
): Server {
  const server = createHttpsServer(material, handler)
  // The TLS server starts each handshake from its 'connection' listener: wrapped, so a connection
  // can be held before it, and the certificate switched just before it when the fault has changed.
  const handshakes = server.listeners('connection') as ((socket: Socket) => void)[]
  server.removeAllListeners('connection')
  let installed: TlsScenarioName | null = null
  server.on('connection', (socket: Socket) => {
    const fault = options.fault()
    if (fault?.scenario === 'tls_hang') {
      hold(socket, fault.maxMs, options.hanging)
      return
    }
    const wanted = fault?.scenario ?? null
    if (wanted !== installed) {
      server.setSecureContext(wanted === null ? material.server : material.faults[wanted])
      installed = wanted
    }
    for (const handshake of handshakes) handshake.call(server, socket)
  })
  return server
}

function hold(socket: Socket, maxMs: number, hanging: Set<Socket>): void {
  hanging.add(socket)
  // A client that gives up resets the socket: nothing to report.
  socket.on('error', () => {})
  const timer = setTimeout(() => socket.destroy(), maxMs)
  timer.unref()
  socket.once('close', () => {
    clearTimeout(timer)
    hanging.delete(socket)
  })
}
