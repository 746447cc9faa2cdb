import type { UserRecord } from './protocol.js'

/**
 * Where users come from: the one seam to your database. Answering Talki needs only `find`; map-store.ts
 * and postgres-store.ts implement it. A token that names no user (including `__proto__`, `constructor`
 * or `toString`) gives undefined; a failing database rejects (or throws), and the route answers 503.
 * A database answers with a promise; a store in memory may answer at once, which spares the route its
 * deadline timer and a few microtasks a request.
 */
export interface UserStore<U extends UserRecord = UserRecord> {
  find(token: string): Promise<U | undefined> | U | undefined
}
