import type { UserRecord } from './protocol.js'

/**
 * Where users come from: the one seam to your database. Answering Talki needs only `find`; map-store.ts
 * and postgres-store.ts implement it. A token that names no user (including `__proto__`, `constructor`
 * or `toString`) resolves to undefined; a failing database rejects, and the route answers 503.
 */
export interface UserStore<U extends UserRecord = UserRecord> {
  find(token: string): Promise<U | undefined>
}
