import { afterAll, afterEach, expect } from 'vitest'
import { watchedApps } from './checked-apps.js'

// The one place the contract check is registered: a setup file of every vitest config, run for each test
// file (isolated or not). Every checked app of a test file (contract.ts) is asked for its new violations
// after each test and after the file, so no test has to remember to look.

async function expectNoViolations(): Promise<void> {
  for (const app of watchedApps) expect(await app.takeViolations()).toEqual([])
}

afterEach(expectNoViolations)
afterAll(async () => {
  await expectNoViolations()
  watchedApps.clear()
})
