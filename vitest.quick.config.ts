import { defineConfig, mergeConfig } from 'vitest/config'
import base from './vitest.config.js'

// `npm run test:quick`: the unit and in-process tests only. Left out: the engines (PostgreSQL, Redis), the
// browser (Chromium), the suites that build, install or start child processes (Python, Go, nginx, npm pack), and
// the ones that wait out Talki's real 5 s (test/cli/check-timing.test.ts); the whole suite is `npm test`.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      // One module graph per worker thread: the in-process files share their imports (half the time of
      // isolated forks here). The contract check is a setup file, so it is registered for every file.
      pool: 'threads',
      isolate: false,
      exclude: [
        'test/engines/**',
        'test/examples/**',
        'test/bench.test.ts',
        'test/compose-tls.test.ts',
        'test/build-if-changed.test.ts',
        'test/fresh-clone.test.ts',
        'test/package.test.ts',
        'test/testing/packed.test.ts',
        'test/cli/main.test.ts',
        'test/cli/check-timing.test.ts',
        'test/template/package-stacks.test.ts',
        'test/reference/**',
        'test/mock/main.test.ts',
        'test/mock/demo.test.ts',
        'test/mock/runtime/log.test.ts',
        'test/mock/runtime/tls-replicas.test.ts',
        'test/mock/dashboard/dashboard.browser.test.ts',
        'test/mock/users/postgres-users.test.ts',
        'test/mock/users/store-behaviour.test.ts',
        'test/template/postgres-store.test.ts',
        'test/template/readme-guide.test.ts',
      ],
    },
  }),
)
