import { readdirSync, readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

// How busy the machine was with other work while a target was measured: all CPU time spent on the
// machine, minus the server's and this process's (the load generator). A quiet machine shows about 0%.

const TICKS_PER_SECOND = 100 // USER_HZ, 100 on Linux

export interface CpuSample {
  at: number
  machine: number
  server: number
  /** The engines the server uses (redis-server, PostgreSQL and its sessions): theirs is not "other work". */
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

/** The fields of /proc/<pid>/stat after the command name (in parentheses, which may hold spaces), or null. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

function processSeconds(pid: number): number {
  const fields = statFields(pid)
  // utime and stime: the 14th and 15th fields of the line, 12th and 13th after the name.
  return fields === null ? 0 : (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/**
 * A server made of processes (PostgreSQL forks one per session): the process, its live children and
 * the children it has already reaped (cutime + cstime), so a session that ends between two samples is
 * still counted once.
 */
export function processTreeSeconds(pid: number): number {
  const fields = statFields(pid)
  if (fields === null) return 0
  let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const child = statFields(Number(entry))
    // ppid is the 2nd field after the name.
    if (child !== null && Number(child[1]) === pid) ticks += Number(child[11]) + Number(child[12])
  }
  return ticks / TICKS_PER_SECOND
}

export function sampleCpu(serverPid: number, enginePids: readonly number[] = []): CpuSample {
  const usage = process.cpuUsage()
  return {
    at: performance.now(),
    machine: machineBusySeconds(),
    server: processSeconds(serverPid),
    engines: enginePids.reduce((sum, pid) => sum + processTreeSeconds(pid), 0),
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
