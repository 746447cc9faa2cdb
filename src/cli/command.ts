import { type ParseArgsConfig, parseArgs } from 'node:util'
import type { Io } from './io.js'

// One `talki-endpoint` command: main.ts lists them and calls `run` with the arguments after the command's
// name. `options` is node:util parseArgs' form; `help` is printed for --help. A command loads what it
// needs inside `run`, so `--help` and `sign` stay light.

export type Options = NonNullable<ParseArgsConfig['options']>

export interface Command {
  name: string
  /** The command's line in the top-level help: how it is called, and what it does. */
  synopsis: string
  summary: string
  help: string
  options: Options
  /** Parses `args` against `options` and runs; resolves with the exit code, throws UsageError for exit 2. */
  run(args: string[], io: Io): Promise<number>
}

type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>

/** A command whose `run` gets its own options typed; `-h/--help` is added to every command and answered here. */
export function defineCommand<const O extends Options>(command: {
  name: string
  synopsis: string
  summary: string
  help: string
  options: O
  run(parsed: Parsed<O>, io: Io): Promise<number>
}): Command {
  const options = { ...command.options, help: { type: 'boolean', short: 'h' } } as const
  return {
    ...command,
    options,
    run: async (args, io) => {
      const parsed = parseArgs({ args, options, allowPositionals: true })
      if ((parsed.values as Record<string, unknown>).help === true) {
        io.stdout.write(`${command.help}\n`)
        return 0
      }
      return command.run(parsed as unknown as Parsed<O>, io)
    },
  }
}
