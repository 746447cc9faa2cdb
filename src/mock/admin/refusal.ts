import { z } from 'zod'
import { HttpRefusal } from '../runtime/refusal.js'

// The one shape of every admin refusal, `{"error":"<code>","issues"?:[{"message","path"?}]}`, and the
// exception the routes and the middleware throw to send it; the app's one error handler writes it, with
// the headers it carries.

const IssueSchema = z.strictObject({
  message: z.string(),
  path: z
    .array(z.union([z.string(), z.number()]))
    .optional()
    .describe('Where in the input: keys and indexes from the root of the body, the query or the path'),
})
export type Issue = z.infer<typeof IssueSchema>

export const AdminErrorSchema = z.strictObject({ error: z.string(), issues: z.array(IssueSchema).optional() })

/** Every code the admin API answers, by status. The document lists, for each operation, the ones it uses. */
export const ADMIN_ERRORS = {
  invalid_request: 400,
  tls_not_enabled: 400,
  unauthorized: 401,
  not_found: 404,
  user_not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_streams: 429,
  internal_error: 500,
  seed_unreadable: 500,
  store_unavailable: 503,
} as const
export type AdminErrorCode = keyof typeof ADMIN_ERRORS

/** Headers every refusal with this code carries; the document lists them beside the code's answer. */
export const ADMIN_ERROR_HEADERS: Partial<Record<AdminErrorCode, Readonly<Record<string, string>>>> = {
  unauthorized: { 'WWW-Authenticate': 'Bearer' },
  store_unavailable: { 'Retry-After': '3' },
}

export class Refusal extends HttpRefusal<AdminErrorCode> {
  /**
   * `headers`: those of this one answer (the 405's `Allow`), beside those of its code
   * (ADMIN_ERROR_HEADERS).
   */
  constructor(
    code: AdminErrorCode,
    readonly issues?: Issue[],
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(ADMIN_ERRORS[code], code, { ...ADMIN_ERROR_HEADERS[code], ...headers })
  }

  override get body(): z.infer<typeof AdminErrorSchema> & { error: AdminErrorCode } {
    return { error: this.code, ...(this.issues ? { issues: this.issues } : {}) }
  }
}

/** A 400 `invalid_request` with one issue. */
export function invalidRequest(message: string, path?: Issue['path']): Refusal {
  return new Refusal('invalid_request', [{ message, ...(path ? { path } : {}) }])
}

/** zod's issues in the answer's shape: the message and, when there is one, the path. */
function zodIssues(issues: readonly z.core.$ZodIssue[], root: (string | number)[] = []): Issue[] {
  return issues.flatMap(explainUnion).map((issue) => {
    const path = [...root, ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key))]
    return { message: issue.message, ...(path.length > 0 ? { path } : {}) }
  })
}

/**
 * zod says only "Invalid input" when no branch of a union fits. The branch that got furthest into the
 * input (its deepest issue; then the fewest issues) is what the sender most likely meant: its issues
 * say what is wrong, at their own paths.
 */
function explainUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue]
  const depth = (branch: z.core.$ZodIssue[]) => Math.max(...branch.map((i) => i.path.length))
  const best = issue.errors.reduce((a, b) =>
    depth(b) > depth(a) || (depth(b) === depth(a) && b.length < a.length) ? b : a,
  )
  return best.flatMap((inner) => explainUnion({ ...inner, path: [...issue.path, ...inner.path] }))
}

/** Parses `input` with `schema`, or throws the 400 naming each problem under `root`. */
export function parseOrRefuse<T extends z.ZodType>(
  schema: T,
  input: unknown,
  root: (string | number)[] = [],
): z.output<T> {
  const result = schema.safeParse(input)
  if (!result.success) throw new Refusal('invalid_request', zodIssues(result.error.issues, root))
  return result.data
}
