// The checked apps alive in the current test file: contract.ts adds and forgets them, and the setup file
// contract-hooks.ts asks each for its violations after every test.

export interface WatchedApp {
  /** The violations not reported yet. */
  takeViolations(): Promise<string[]>
}

export const watchedApps = new Set<WatchedApp>()
