import { defineConfig } from 'vitest/config'

// `npm run test:stress`: the long runs against the built server (parked callers, kill -9, memory,
// shutdown, secrets). One file at a time, so their timing figures do not disturb each other.
export default defineConfig({
  test: {
    include: ['test/stress/**/*.test.ts'],
    globalSetup: ['test/stress/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
})
