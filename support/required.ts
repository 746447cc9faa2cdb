/**
 * Whether the tests that need a tool of this machine (an engine, a browser, a toolchain) can run. With
 * CI=true a missing one is an error: .ci/run installs it, so those tests must run there, not be skipped.
 * Elsewhere the caller skips them, and this says so loudly.
 *
 * @param what the tests, as the messages name them ("the Redis tests")
 * @param missing what is missing, or undefined when nothing is
 * @param install the command that installs it
 */
export function requiredTool(what: string, missing: string | undefined, install: string): boolean {
  if (missing === undefined) return true
  const message = `${missing} is missing (${install})`
  if (process.env.CI === 'true') throw new Error(`${message}: with CI=true ${what} must run`)
  console.warn(`!!! SKIPPING ${what}: ${message} !!!`)
  return false
}
