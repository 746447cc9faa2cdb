// Every engine opener (the JSON file, PostgreSQL, the process's memory, Redis) describes itself once:
// readiness (GET /readyz, GET /api/engines), the start-up log and the dashboard read this description and
// name no engine themselves.

export const USERS_ENGINES = ['json', 'postgres'] as const
export const STATE_ENGINES = ['memory', 'redis'] as const
export type UsersEngineId = (typeof USERS_ENGINES)[number]
export type StateEngineId = (typeof STATE_ENGINES)[number]

export interface Engine<Id extends string = string> {
  /** What GET /api/engines answers for it. */
  id: Id
  /** Its name for people (the start-up log, the dashboard's header). */
  label: string
  /** Where it keeps its data (a file, a masked URL); undefined when in this process. */
  where: string | undefined
}
