import { DEFAULT_SEED_OPTIONS } from '../../mock/users/seed-options.js'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'
import { integer } from '../options.js'

const DEFAULT_OUT = 'data/seed.json'

export default defineCommand({
  name: 'seed',
  synopsis: 'seed',
  summary: `write the deterministic data set (${DEFAULT_OUT})`,
  help: `Usage: talki-endpoint seed [--count N] [--seed N] [--out FILE]

Writes the deterministic data set: the vendor page's example user, one user per scenario, edge
cases, and faker users from a fixed seed. Needs @faker-js/faker, a development dependency: from
an installed package, npm install @faker-js/faker first.

  --count N       number of generated users (default ${DEFAULT_SEED_OPTIONS.count})
  --seed N        faker seed (default ${DEFAULT_SEED_OPTIONS.seed})
  --out FILE      where to write (default ${DEFAULT_OUT})
  -h, --help      this help

Exit 0 once written, 1 when the file cannot be written or faker is missing, 2 on a usage error.`,
  options: { count: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
    const count = integer('--count', values.count, DEFAULT_SEED_OPTIONS.count, 0, 1_000_000)
    const seed = integer('--seed', values.seed, DEFAULT_SEED_OPTIONS.seed, 0, 2 ** 32 - 1)
    const out = values.out === undefined || values.out === '' ? DEFAULT_OUT : values.out
    const seedModule = await importSeed()
    if (seedModule === undefined) {
      io.stderr.write(
        'talki-endpoint: seed needs @faker-js/faker, a development dependency: npm install @faker-js/faker\n',
      )
      return 1
    }
    try {
      const written = await seedModule.writeSeedFile({ count, seed, out })
      io.stdout.write(`wrote ${written.users} users (${written.bytes} bytes) to ${out}\n`)
      return 0
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (typeof code === 'string' && code.startsWith('E')) {
        io.stderr.write(`talki-endpoint: cannot write ${out}: ${(error as Error).message}\n`)
        return 1
      }
      throw error
    }
  },
})

/** seed.ts needs faker, a development dependency: `undefined` when an installed package lacks it. */
async function importSeed(): Promise<typeof import('../../mock/users/seed.js') | undefined> {
  try {
    return await import('../../mock/users/seed.js')
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes('@faker-js/faker')) return undefined
    throw error
  }
}
