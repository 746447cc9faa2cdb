import type { ProbeRequest } from './judge.js'

// One pasteable line of bash that repeats a probe with curl. The signature is computed inside the line from
// $TALKI_SECRET with openssl, as the README's signing example does, so the secret is never printed.

/** A word bash reads back as exactly these bytes: single quotes, or $'…' when control or Latin-1 bytes occur. */
export function shellWord(bytes: Buffer): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are exactly what needs $'…'
  const plain = !/[\x00-\x1f\x7f]/.test(bytes.toString('latin1')) && isUtf8(bytes)
  if (plain) return `'${bytes.toString('utf8').replaceAll("'", `'\\''`)}'`
  let out = ''
  for (const byte of bytes) {
    const c = String.fromCharCode(byte)
    if (c === "'" || c === '\\') out += `\\${c}`
    else if (byte >= 0x20 && byte < 0x7f) out += c
    else out += `\\x${byte.toString(16).padStart(2, '0')}`
  }
  return `$'${out}'`
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

const HMAC = (variable: string) =>
  `$(printf '%s' "$${variable}" | openssl dgst -sha256 -hmac "$TALKI_SECRET" | sed 's/^.* //')`

export interface CurlTarget {
  caFile?: string
  insecure?: boolean
  timeoutMs: number
}

/** The curl arguments and the variables they need, for one request. */
function curlParts(
  request: ProbeRequest,
  target: CurlTarget,
  bodyVar: string,
): { vars: string[]; args: string[] } {
  const vars: string[] = []
  const args = ['curl', '-sS']
  args.push(request.method === 'HEAD' ? '--head' : '-i')
  if (request.method !== 'HEAD' && !(request.method === 'GET' && request.body === undefined)) {
    args.push('-X', request.method)
  }
  args.push('--max-time', String(Math.max(1, Math.ceil(target.timeoutMs / 1000))))
  if (target.caFile !== undefined) args.push('--cacert', shellWord(Buffer.from(target.caFile)))
  if (target.insecure) args.push('-k')
  args.push(shellWord(Buffer.from(request.url.href)))
  if (request.body !== undefined) args.push('-H', `'Content-Type: application/json'`)
  const signature = request.signature
  switch (signature.kind) {
    case 'none':
      break
    case 'literal':
      // curl drops a header given as "Name:"; "Name;" sends it empty.
      args.push(
        '-H',
        signature.value === ''
          ? `'X-Talki-Signature;'`
          : shellWord(Buffer.from(`X-Talki-Signature: ${signature.value}`, 'latin1')),
      )
      break
    case 'hmac': {
      let over = bodyVar
      if (signature.over !== request.body) {
        over = 'SIGNED'
        vars.push(`SIGNED=${shellWord(Buffer.from(signature.over, 'utf8'))}`)
      }
      const hex =
        signature.cut === undefined
          ? HMAC(over)
          : `$(printf '%s' "$${over}" | openssl dgst -sha256 -hmac "$TALKI_SECRET" | sed 's/^.* //' | cut -c1-${signature.cut})`
      args.push('-H', `"X-Talki-Signature: ${signature.prefix ?? ''}${hex}${signature.suffix ?? ''}"`)
      break
    }
  }
  if (request.body !== undefined) args.push('--data-binary', `"$${bodyVar}"`)
  return { vars, args }
}

/** `BODY='…'; curl …` for one probe. */
export function curlLine(request: ProbeRequest, target: CurlTarget): string {
  const { vars, args } = curlParts(request, target, 'BODY')
  const body = request.body === undefined ? [] : [`BODY=${shellWord(Buffer.from(request.body, 'utf8'))}`]
  return [...body, ...vars, args.join(' ')].join('; ')
}

/** The burst: every body started at once in the background, each answer on its own line. */
export function curlBurst(requests: readonly ProbeRequest[], target: CurlTarget): string {
  const first = requests[0]
  if (first === undefined) return ''
  const { args } = curlParts({ ...first, method: 'POST' }, target, 'BODY')
  const words = requests.map((r) => shellWord(Buffer.from(r.body ?? '', 'utf8'))).join(' ')
  return `for BODY in ${words}; do ${args.join(' ').replace(' -i ', " -w '\\n' ")} & done; wait`
}
