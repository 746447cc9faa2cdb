import { isIP } from 'node:net'
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls'
import { tlsRequestOptions } from './http.js'
import type { TlsOptions } from './options.js'

// The certificate row of an https:// check: what Talki's TLS client would say of the endpoint's certificate.
// Talki verifies like any HTTPS client: a trusted chain, in date, for the host name, TLS 1.2 or later.

/** Certificates that expire within this many days are a warning: renewal is due. */
export const EXPIRY_WARNING_DAYS = 14
const DAY_MS = 24 * 60 * 60 * 1000
const MODERN = new Set(['TLSv1.2', 'TLSv1.3'])
const JUDGED_BELOW = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID'])

export interface CertificateVerdict {
  /** `warn`: Talki would connect today, or --insecure asked not to refuse. */
  verdict: 'pass' | 'warn' | 'fail'
  reason: string
}

/** `undefined` when nothing answered at all (connection refused…): the reachability row says so. */
export async function judgeCertificate(
  url: URL,
  tls: TlsOptions,
  timeoutMs: number,
  now = Date.now(),
): Promise<CertificateVerdict | undefined> {
  const { ca } = await tlsRequestOptions(tls)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 443)
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(ca === undefined ? {} : { ca }),
      // Judged below, each problem by name, instead of one refused handshake.
      rejectUnauthorized: false,
    })
    const done = (verdict: CertificateVerdict | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(verdict)
    }
    const timer = setTimeout(
      () => done({ verdict: 'fail', reason: `no TLS handshake within ${timeoutMs} ms from ${url.host}` }),
      timeoutMs,
    )
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH') {
        return done(undefined)
      }
      done({
        verdict: 'fail',
        reason: `TLS handshake failed with ${url.host}: ${error.message.replace(/\s+/g, ' ').trim()} — serve TLS 1.2 or later with a certificate for ${host}`,
      })
    })
    socket.once('secureConnect', () => {
      const protocol = socket.getProtocol() ?? 'unknown'
      const problems: string[] = []
      const warnings: string[] = []
      const certificate = socket.getPeerCertificate()
      if (!MODERN.has(protocol)) problems.push(`${protocol} negotiated: serve TLS 1.2 or later`)
      // Node puts the first problem it meets in authorizationError: the date and the host name are judged
      // below, each by name, so only a chain problem is said here.
      const chain = socket.authorizationError
      const untrusted = chain !== null && chain !== undefined && !JUDGED_BELOW.has(String(chain))
      if (untrusted) {
        problems.push(
          `the chain is not trusted (${String(chain)}): serve the full chain from a public CA, or pass the private CA with --ca FILE`,
        )
      }
      const until = Date.parse(certificate.valid_to)
      const from = Date.parse(certificate.valid_from)
      const days = Math.floor((until - now) / DAY_MS)
      if (until <= now) problems.push(`the certificate expired on ${isoDay(until)}: renew it`)
      else if (from > now) problems.push(`the certificate is not valid before ${isoDay(from)}`)
      else if (days < EXPIRY_WARNING_DAYS)
        warnings.push(`it expires in ${days} days (${isoDay(until)}): renew it`)
      const identity = checkServerIdentity(host, certificate as PeerCertificate)
      if (identity !== undefined) {
        problems.push(
          `the certificate is for another host name (${subjectNames(certificate)}), not ${host}: issue it for the host name Talki calls`,
        )
      }
      if (problems.length > 0) {
        const said = `Talki would refuse the certificate: ${problems.join('; ')}`
        return done(
          tls.insecure === true
            ? { verdict: 'warn', reason: `${said} (not verified: --insecure)` }
            : { verdict: 'fail', reason: said },
        )
      }
      const facts = `${protocol}, trusted chain, for ${host}, valid until ${isoDay(until)}`
      done(
        warnings.length > 0
          ? { verdict: 'warn', reason: `${facts}; ${warnings.join('; ')}` }
          : { verdict: 'pass', reason: `${facts} (${days} days)` },
      )
    })
  })
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

function subjectNames(certificate: PeerCertificate): string {
  return certificate.subjectaltname || `CN=${certificate.subject?.CN ?? '?'}`
}
