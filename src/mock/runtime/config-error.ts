/** A bad configuration: its message is the one line printed before exit 1. Apart from config.ts, so the CLI can catch it without loading zod. */
export class ConfigError extends Error {}
