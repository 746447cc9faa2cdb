// What a command reads and writes: the process's streams and environment, or a test's stand-ins.

export interface Output {
  write(text: string): unknown
}

export interface Io {
  argv: string[]
  env: NodeJS.ProcessEnv
  stdout: Output & { isTTY?: boolean }
  stderr: Output
  stdin: AsyncIterable<Buffer | string> & { isTTY?: boolean }
}

/** A bad argument or missing configuration: exit 2 with one line. */
export class UsageError extends Error {}
