// Configuration defaults that the CLI's help prints: kept apart from config.ts, which loads zod.

/** Where the users live when DATA_FILE is not set; the development secret is `.secret` beside it. */
export const DEFAULT_DATA_FILE = 'data/db.json'
