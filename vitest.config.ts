import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The long runs are `npm run test:stress` (vitest.stress.config.ts).
    exclude: [...configDefaults.exclude, 'test/stress/**'],
    // Registers the contract check of every checked app (test/contract-hooks.ts).
    setupFiles: ['test/contract-hooks.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
})
