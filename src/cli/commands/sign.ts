import { sign } from '../../template/signature.js'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'
import { resolveSecret } from '../options.js'

export default defineCommand({
  name: 'sign',
  synopsis: 'sign [BODY]',
  summary: 'print the X-Talki-Signature for BODY (or stdin)',
  help: `Usage: talki-endpoint sign [BODY] [--secret S]

Prints the lowercase hex HMAC-SHA256 of BODY's exact bytes (or of stdin's, when BODY is absent):
the same as  printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET".
Nothing is added or removed: no trailing newline. Use -- before a BODY that starts with '-'.

  --secret S      the signing secret (else the first of TALKI_SECRET, else .secret beside DATA_FILE)
  -h, --help      this help

Exit 0 with the signature printed, 2 on a usage error (no secret, no BODY).`,
  options: { secret: { type: 'string' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 1) throw new UsageError('sign takes one BODY; quote it')
    const secret = await resolveSecret(values.secret, io.env)
    let body: Buffer
    if (positionals[0] !== undefined) {
      body = Buffer.from(positionals[0], 'utf8')
    } else {
      if (io.stdin.isTTY) throw new UsageError('give BODY as an argument or pipe it on stdin')
      const chunks: Buffer[] = []
      for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
      body = Buffer.concat(chunks)
    }
    io.stdout.write(`${sign(secret, body)}\n`)
    return 0
  },
})
