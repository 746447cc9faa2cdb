import { z } from 'zod'
import { ProfileSchema, UserTokenSchema } from '../../contract/profile.js'
import type * as protocol from '../../template/protocol.js'
import { UserSimulationSpecSchema } from '../simulation/scenarios.js'

// The mock's stored user: the wire profile plus, for QA, the user's own scenario. These schemas validate
// the store file and admin bodies and generate the OpenAPI document.

/** A stored user: the profile, the token that finds it and, for QA, the user's own scenario. */
export const UserRecordSchema = z
  .object({
    userToken: UserTokenSchema,
    ...ProfileSchema.shape,
    simulate: UserSimulationSpecSchema.optional(),
  })
  .strict()
  .meta({ id: 'UserRecord' })
export type UserRecord = z.infer<typeof UserRecordSchema>

/** The file behind the store: `data/seed.json` and `data/db.json` share it. */
export const StoreFileSchema = z.object({ users: z.array(z.unknown()) }).strict()

export { FILE_HEAD, FILE_SEPARATOR, FILE_TAIL } from './file-layout.js'

/** A UserRecord's keys but `simulate`: the store's fast paths read a record made of these alone. */
export const PLAIN_RECORD_KEYS = ['userToken', 'name', 'email', 'plan', 'fields'] as const

// Compile-time check: a stored record is a template UserRecord.
const recordExtends: UserRecord extends protocol.UserRecord ? true : false = true
void recordExtends
