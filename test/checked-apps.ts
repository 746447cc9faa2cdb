// The checked apps alive in the current test file: contract.ts adds and forgets them, and the setup file
// contract-hooks.ts asks each for its violations after every test. A module of its own because both import
// it: a setup file that a test file also imports runs only once per worker when files are not isolated
// (test:quick), and its hooks would then miss every later file.

export interface WatchedApp {
  /** The violations not reported yet. */
  takeViolations(): Promise<string[]>
}

export const watchedApps = new Set<WatchedApp>()
