import { defineConfig } from 'vitest/config'

// `npm run test:stress`: the long runs against the built server (parked callers, kill -9, memory,
// shutdown, secrets). One file at a time, so their timing figures do not disturb each other.
export default defineConfig({
  test: {
    include: ['test/stress/**/*.test.ts'],
    globalSetup: ['test/stress/global-setup.ts'],
    // Registers the contract check of every checked app (test/contract-hooks.ts).
    setupFiles: ['test/contract-hooks.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
})
