import type { Answer } from '../../template/protocol.js'

// A refusal is thrown (or passed to `next`) wherever the request is turned down, and answered by the one
// error handler of its app, which writes the status, the headers the refusal carries (`Allow`,
// `WWW-Authenticate`, `Retry-After`, …) and `{"error":"<code>"}`. Nothing else writes a refusal.

export class HttpRefusal<Code extends string = string> extends Error {
  constructor(
    readonly status: number,
    readonly code: Code,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(code)
  }

  /** The JSON body the handler sends. */
  get body(): { error: Code } {
    return { error: this.code }
  }

  /** One of the template's fixed answers (`answers.methodNotAllowed`, …) as a refusal. */
  static of<A extends Pick<Answer, 'status' | 'headers'> & { body: { error: string } }>(
    answer: A,
  ): HttpRefusal<A['body']['error']> {
    return new HttpRefusal(answer.status, answer.body.error, answer.headers ?? {})
  }
}
