import type { UserRecord } from './protocol.js'
import type { UserStore } from './user-store.js'

/** Users kept in memory, in a Map: own keys only (no `__proto__` surprises), O(1) whatever the size. */
export function createMapStore<U extends UserRecord>(users: Iterable<U>): UserStore<U> {
  const byToken = new Map<string, U>()
  for (const user of users) byToken.set(user.userToken, user)
  return {
    find(token) {
      return byToken.get(token)
    },
  }
}
