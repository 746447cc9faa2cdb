import { isIP } from 'node:net'

// Talki calls HTTPS URLs only. Plain http:// is fine for a test on this machine, never for another host.

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host)
  return false
}

/** The reason an http:// URL fails, judged before any request is sent; `undefined` when the URL is fine. */
export function plainHttpProblem(url: URL): string | undefined {
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return undefined
  return `http:// to ${url.hostname}, which is not this machine: Talki calls HTTPS URLs only — serve the endpoint over HTTPS (a TLS-terminating proxy or a tunnel) and check https://${url.host}${url.pathname}; nothing was sent`
}
