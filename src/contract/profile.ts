import { z } from 'zod'
import type * as protocol from '../template/protocol.js'
import { type ErrorCode, MAX_TOKEN_LENGTH } from '../template/protocol.js'

// The wire contract the mock and the CLI share, as zod schemas: what Talki sends, what the endpoint answers,
// and the error shape. The protocol's own types live in src/template/protocol.ts; the checks at the end of
// this file keep the two equal.

export const UserTokenSchema = z.string().min(1).max(MAX_TOKEN_LENGTH)

/** A value in `fields`: Talki renders strings, numbers and booleans, nothing nested. */
export const FieldValueSchema = z.union([z.string(), z.number(), z.boolean()])

/** What the endpoint answers and Talki shows in the ticket sidebar. Every key is optional. */
export const ProfileSchema = z
  .object({
    name: z.string().optional().describe('Customer display name, shown as the ticket panel header'),
    email: z.string().optional().describe('Customer email, shown in the panel and used for email threading'),
    plan: z.string().optional().describe('Subscription plan, rendered as a coloured badge'),
    fields: z
      .record(z.string(), FieldValueSchema)
      .optional()
      .describe('Any key-value pairs, rendered as a list in the sidebar'),
  })
  .meta({ id: 'Profile' })
export type Profile = z.infer<typeof ProfileSchema>

/** The error shape of every refusal: `{"error":"<code>"}`, sometimes with a detail. */
export const ErrorBodySchema = z
  .object({ error: z.string(), detail: z.string().optional() })
  .meta({ id: 'Error' })

/** The body Talki POSTs: `{"userToken": "<id>"}`, the key named by `USER_TOKEN_FIELD`. Other keys are ignored. */
export function customerRequestSchema(tokenField: string) {
  return z.object({ [tokenField]: UserTokenSchema } as Record<string, typeof UserTokenSchema>)
}

// Compile-time checks: the zod schemas above describe exactly the template's protocol types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const profileMatches: Same<Profile, protocol.Profile> = true
const errorCodeIsString: ErrorCode extends z.infer<typeof ErrorBodySchema>['error'] ? true : false = true
void profileMatches
void errorCodeIsString
