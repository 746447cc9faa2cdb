import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

// How busy the machine was with other work while a target was measured: all CPU time spent on the
// machine, minus the server's and this process's (the load generator). A quiet machine shows about 0%.

const TICKS_PER_SECOND = 100 // USER_HZ, 100 on Linux

export interface CpuSample {
  at: number
  machine: number
  server: number
  /** The engines the server uses (redis-server for project-redis): theirs is not "other work". */
  engines: number
  self: number
}

function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND
}

function processSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces: utime is the 12th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

export function sampleCpu(serverPid: number, enginePids: readonly number[] = []): CpuSample {
  const usage = process.cpuUsage()
  return {
    at: performance.now(),
    machine: machineBusySeconds(),
    server: processSeconds(serverPid),
    engines: enginePids.reduce((sum, pid) => sum + processSeconds(pid), 0),
    self: (usage.user + usage.system) / 1e6,
  }
}

/** Percent of one core used by everything except the server, its engines and the load generator between two samples. */
export function othersPercent(before: CpuSample, after: CpuSample): number {
  const seconds = (after.at - before.at) / 1000
  if (seconds <= 0) return 0
  const others =
    after.machine -
    before.machine -
    (after.server - before.server) -
    (after.engines - before.engines) -
    (after.self - before.self)
  return Math.max(0, (others / seconds) * 100)
}
