import { join } from 'node:path'
import type { TargetStart } from './spec.js'

// The state in Redis (REDIS_URL), as one replica of several: the request log is written there in batches.
export const projectRedis: TargetStart = (context) => {
  if (context.redisUrl === undefined) throw new Error('project-redis needs a redis-server (redisUrl)')
  const replica = context.replica ?? 'bench-1'
  return {
    script: join(context.root, 'dist/mock/main.js'),
    env: { LOG_LEVEL: 'warn', REDIS_URL: context.redisUrl, REDIS_PREFIX: 'bench:', REPLICA_ID: replica },
    admin: true,
  }
}
