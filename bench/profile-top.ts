// `npm run bench:profile -- <file.cpuprofile> [--top 20]`: the functions a V8 CPU profile (written by
// `npm run bench -- --cpu-prof`) spends the most time in, as a markdown table. Shares are of the busy time
// (idle samples left out), self time only: where the CPU was, not who called it.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** `name file:line`, with the repository's and node_modules' prefixes cut so the table stays readable. */
function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const file = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/(dist|src|bench)\//, '$1/')
  const where = file === '' ? '' : ` ${file}:${lineNumber + 1}`
  return `${functionName === '' ? '(anonymous)' : functionName}${where}`
}

/** Self time by frame, in microseconds, busiest first; idle samples counted apart. */
function selfTimes(profile: CpuProfile): { busyUs: number; frames: [string, number][] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  let busyUs = 0
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    const us = profile.timeDeltas[i] ?? 0
    if (node === undefined || node.callFrame.functionName === '(idle)') return
    const name = frameName(node)
    self.set(name, (self.get(name) ?? 0) + us)
    busyUs += us
  })
  return { busyUs, frames: [...self].sort((a, b) => b[1] - a[1]) }
}

function main(): void {
  const usage = 'usage: npm run bench:profile -- <file.cpuprofile> [--top 20]\n'
  let parsed: { values: { top: string; help: boolean }; positionals: string[] }
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { top: { type: 'string', default: '20' }, help: { type: 'boolean', default: false } },
    })
  } catch (error) {
    process.stderr.write(`bench:profile: ${(error as Error).message}\n${usage}`)
    process.exit(2)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(usage)
    return
  }
  const file = positionals[0]
  if (file === undefined) {
    process.stderr.write(usage)
    process.exit(2)
  }
  const { busyUs, frames } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile)
  const rows = frames
    .slice(0, Number(values.top))
    .map(([name, us]) => `| ${((us / busyUs) * 100).toFixed(1)} % | \`${name.replaceAll('|', '\\|')}\` |`)
  process.stdout.write(
    `busy ${(busyUs / 1000).toFixed(0)} ms\n\n| self | function |\n| ---: | --- |\n${rows.join('\n')}\n`,
  )
}

main()
