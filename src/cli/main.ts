#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Command } from './command.js'
import check from './commands/check.js'
import clear from './commands/clear.js'
import requests from './commands/requests.js'
import reset from './commands/reset.js'
import seed from './commands/seed.js'
import send from './commands/send.js'
import serve from './commands/serve.js'
import sign from './commands/sign.js'
import simulate from './commands/simulate.js'
import { NetworkError } from './http.js'
import { type Io, UsageError } from './io.js'

// `talki-endpoint`: plays Talki's side of Backend Connect. This file is the registry of commands (one module
// each in commands/), the dispatch and the exit codes (README: CLI): 0 success, 1 failure (for `send`: Talki
// would show nothing), 2 usage error. Nothing here prints a stack trace for a network failure or a bad
// argument: those are one line. Each command imports what it needs when it runs, so `sign` or `--help`
// never load zod or faker.

export type { Io }

const COMMANDS: readonly Command[] = [sign, send, check, serve, seed, simulate, clear, reset, requests]

const REGISTRY = new Map(COMMANDS.map((command) => [command.name, command]))

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.synopsis.length), 'help [COMMAND]'.length) + 2
  const line = (synopsis: string, summary: string) => `  ${synopsis.padEnd(width)} ${summary}`
  return `talki-endpoint — play Talki's side of Backend Connect against any customer endpoint

Usage: talki-endpoint <command> [options]

Commands:
${[...COMMANDS.map((c) => line(c.synopsis, c.summary)), line('help [COMMAND]', 'help for a command')].join('\n')}

Options: --version prints the version, --help this help.
Exit codes: 0 success, 1 failure (send: Talki would show nothing; check: a case failed), 2 usage error.
Run 'talki-endpoint <command> --help' for a command's options.`
}

/** Runs one command line and returns the exit code. Throws only for a bug, never for bad input or the network. */
export async function run(io: Io): Promise<number> {
  const [name, ...rest] = io.argv
  const command = name === undefined ? undefined : REGISTRY.get(name)
  try {
    if (command !== undefined) return await command.run(rest, io)
    switch (name) {
      case undefined:
        io.stderr.write(`${mainHelp()}\n`)
        return 2
      case 'help':
      case '--help':
      case '-h': {
        const topic = name === 'help' ? rest[0] : undefined
        if (topic === undefined) {
          io.stdout.write(`${mainHelp()}\n`)
          return 0
        }
        const asked = REGISTRY.get(topic)
        if (asked === undefined) throw new UsageError(`unknown command "${topic}"`)
        io.stdout.write(`${asked.help}\n`)
        return 0
      }
      case '--version':
      case '-v':
        io.stdout.write(`${packageVersion()}\n`)
        return 0
      default:
        throw new UsageError(`unknown command "${name}"`)
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      const topic = command === undefined ? '' : ` ${command.name}`
      io.stderr.write(
        `talki-endpoint: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}\nRun 'talki-endpoint${topic} --help' for usage.\n`,
      )
      return 2
    }
    if (error instanceof NetworkError) {
      io.stderr.write(`talki-endpoint: ${error.message}\n`)
      return 1
    }
    throw error
  }
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
}

/** The version in the package.json beside dist/ (or src/), so it is right from a clone and from the tarball. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}

function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  // A reader that stops early (`talki-endpoint send … | head`) closes the pipe: the rest of the output
  // goes nowhere, quietly, and the exit code still says how the command went.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
      stream.write = () => true
    })
  }
  const code = await run({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  })
  process.exitCode = code
}
