import { bare, bareHeaders } from './bare.js'
import { projectInfo, projectInfoNoMetrics, projectLean, projectWarn } from './project.js'
import { projectEngines } from './project-engines.js'
import { projectRedis } from './project-redis.js'
import type { TargetContext, TargetSpec, TargetStart } from './spec.js'
import { vendor } from './vendor.js'

// Every target the benchmark knows, in the order the tables list them; the names come from here only.
const TARGETS = {
  'project-warn': projectWarn,
  'project-info': projectInfo,
  'project-info-no-metrics': projectInfoNoMetrics,
  'project-lean': projectLean,
  'project-redis': projectRedis,
  'project-engines': projectEngines,
  vendor,
  bare,
  'bare-headers': bareHeaders,
} satisfies Record<string, TargetStart>

export type TargetName = keyof typeof TARGETS
export const TARGET_NAMES = Object.keys(TARGETS) as TargetName[]
export type { TargetContext, TargetSpec }

export function specOf(name: TargetName, context: TargetContext): TargetSpec {
  return TARGETS[name](context)
}
