import { webcrypto, X509Certificate } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { dirname, join } from 'node:path'
import { ConfigError } from './config-error.js'

// Certificates made by a library (@peculiar/x509 on Node's WebCrypto), never by a shell command: the
// local CA and the localhost certificate of TLS=self-signed, and the TLS faults' certificates. The
// library is imported on first use, so a mock without TLS never loads it. Tests make theirs here too.

/** A certificate and its private key, both PEM. */
export interface Pem {
  cert: string
  key: string
}

/** The names every self-signed certificate covers; TLS_HOSTS adds to them. */
export const LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1'] as const

/** The name tls_wrong_host's certificate is for: a reserved name no client ever asks for. */
export const WRONG_HOST = 'wrong-host.invalid'

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
const DAY_MS = 24 * 60 * 60 * 1000

type X509 = typeof import('@peculiar/x509')
let library: Promise<X509> | undefined
function x509(): Promise<X509> {
  library ??= (async () => {
    // The library's dependency injection needs the Reflect metadata polyfill loaded first.
    await import('reflect-metadata')
    const lib = await import('@peculiar/x509')
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0])
    return lib
  })()
  return library
}

function serialNumber(): string {
  // Positive (high bit clear) and unique enough that no two certificates a client sees share one.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] ?? 0) & 0x7f
  return Buffer.from(bytes).toString('hex')
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key))
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`
}

/** A new certificate authority (valid ten years). */
export async function createAuthority(commonName: string): Promise<Pem> {
  const lib = await x509()
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const now = Date.now()
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 3650 * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new lib.BasicConstraintsExtension(true, 0, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) }
}

/**
 * A server certificate for `hosts` (names and IP addresses) signed by `authority`, valid for a year
 * from a day ago unless `notBefore`/`notAfter` say otherwise (tls_expired's ended yesterday).
 */
export async function issueCertificate(
  authority: Pem,
  options: { hosts: readonly string[]; notBefore?: Date; notAfter?: Date },
): Promise<Pem> {
  const lib = await x509()
  const issuer = new lib.X509Certificate(authority.cert)
  const issuerKey = await webcrypto.subtle.importKey(
    'pkcs8',
    lib.PemConverter.decodeFirst(authority.key),
    ALGORITHM,
    false,
    ['sign'],
  )
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const now = Date.now()
  const [first = 'localhost'] = options.hosts
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${first}`,
    issuer: issuer.subject,
    notBefore: options.notBefore ?? new Date(now - DAY_MS),
    notAfter: options.notAfter ?? new Date(now + 365 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: issuerKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
      new lib.SubjectAlternativeNameExtension(
        options.hosts.map((host) =>
          isIP(host) ? { type: 'ip', value: host } : { type: 'dns', value: host },
        ),
      ),
      await lib.AuthorityKeyIdentifierExtension.create(issuer),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) }
}

/** The host names and IP addresses a certificate is for, from its subjectAltName. */
export function certificateHosts(certPem: string): string[] {
  const names = new X509Certificate(certPem).subjectAltName ?? ''
  return names
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((name) => name !== '')
    .map((name) => (name.includes(':') ? normaliseIpv6(name) : name))
}

function normaliseIpv6(address: string): string {
  // Node writes 0:0:0:0:0:0:0:1; the URL form (and TLS_HOSTS) writes ::1.
  return new URL(`http://[${address}]`).hostname.slice(1, -1)
}

/** Where TLS=self-signed keeps its files: `tls/` beside the secret file (data/tls/ by default). */
export function tlsDirectory(dataFile: string): string {
  return join(dirname(dataFile), 'tls')
}

export interface LocalTlsFiles {
  /** The local CA: what a client trusts (`curl --cacert`). */
  caFile: string
  caKeyFile: string
  certFile: string
  keyFile: string
}

export function localTlsFiles(directory: string): LocalTlsFiles {
  return {
    caFile: join(directory, 'ca.pem'),
    caKeyFile: join(directory, 'ca-key.pem'),
    certFile: join(directory, 'cert.pem'),
    keyFile: join(directory, 'key.pem'),
  }
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`Cannot read ${file}: ${(error as Error).message}`)
  }
}

async function writeFiles(files: [file: string, text: string, mode: number][]): Promise<void> {
  for (const [file, text, mode] of files) {
    try {
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, text, { mode })
    } catch (error) {
      throw new ConfigError(`Cannot write ${file}: ${(error as Error).message}`)
    }
  }
}

/** The local CA in `directory`, made (and saved, its key mode 0600) when missing. */
export async function ensureAuthority(directory: string): Promise<{ authority: Pem; created: boolean }> {
  const files = localTlsFiles(directory)
  const [cert, key] = await Promise.all([readIfPresent(files.caFile), readIfPresent(files.caKeyFile)])
  if (cert !== undefined && key !== undefined) return { authority: { cert, key }, created: false }
  const authority = await createAuthority('Talki endpoint mock local CA')
  await writeFiles([
    [files.caKeyFile, authority.key, 0o600],
    [files.caFile, authority.cert, 0o644],
  ])
  return { authority, created: true }
}

export interface SelfSigned {
  authority: Pem
  server: Pem
  files: LocalTlsFiles
  /** Whether this start made the CA (false: reused from an earlier start). */
  created: boolean
}

/**
 * TLS=self-signed: the local CA and a server certificate for `hosts`, made once in `directory` and
 * reused on later starts. A server certificate that no longer covers `hosts` (TLS_HOSTS changed) or
 * ends within a day is made again from the same CA, so a client's trust in ca.pem still holds.
 */
export async function ensureSelfSigned(directory: string, hosts: readonly string[]): Promise<SelfSigned> {
  const files = localTlsFiles(directory)
  const { authority, created } = await ensureAuthority(directory)
  const [cert, key] = await Promise.all([readIfPresent(files.certFile), readIfPresent(files.keyFile)])
  if (!created && cert !== undefined && key !== undefined && covers(cert, hosts)) {
    return { authority, server: { cert, key }, files, created }
  }
  const server = await issueCertificate(authority, { hosts })
  await writeFiles([
    [files.keyFile, server.key, 0o600],
    [files.certFile, server.cert, 0o644],
  ])
  return { authority, server, files, created }
}

function covers(certPem: string, hosts: readonly string[]): boolean {
  try {
    const names = new Set(certificateHosts(certPem))
    const validTo = new Date(new X509Certificate(certPem).validTo).getTime()
    return hosts.every((host) => names.has(host)) && validTo - Date.now() > DAY_MS
  } catch {
    return false
  }
}

/** The TLS faults' certificates, made once per process from the local CA (and one unknown CA). */
export interface FaultCertificates {
  tls_expired: Pem
  tls_wrong_host: Pem
  tls_untrusted: Pem
}

export async function createFaultCertificates(
  authority: Pem,
  hosts: readonly string[],
): Promise<FaultCertificates> {
  const now = Date.now()
  const stranger = await createAuthority('Unknown CA (tls_untrusted)')
  const [expired, wrongHost, untrusted] = await Promise.all([
    issueCertificate(authority, {
      hosts,
      notBefore: new Date(now - 30 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    }),
    issueCertificate(authority, { hosts: [WRONG_HOST] }),
    issueCertificate(stranger, { hosts }),
  ])
  return { tls_expired: expired, tls_wrong_host: wrongHost, tls_untrusted: untrusted }
}
