// The seed's options, apart from seed.ts so the CLI's help can show the defaults without loading faker.

export type SeedOptions = { count: number; seed: number }

/** `npm run seed` with no flags: 50 faker users, seed 20240115 (the example user's sign-up date). */
export const DEFAULT_SEED_OPTIONS: SeedOptions = { count: 50, seed: 20240115 }
