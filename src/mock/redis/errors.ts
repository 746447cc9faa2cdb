/** An engine named in the environment could not be reached at start: one line, then exit 1. */
export class EngineStartError extends Error {}
