import { createClient, type RedisClientType } from '@redis/client'
import type { Logger } from '../../runtime/log.js'
import { maskUrl } from '../../runtime/mask-url.js'
import { EngineStartError } from '../../runtime/readiness.js'

// Two connections to Redis: one for commands and one subscribed to the replicas' notices (a subscribed
// connection can run nothing else). Both reconnect by themselves after a loss; commands sent meanwhile
// fail at once instead of queueing (disableOfflineQueue), so a request never waits on a lost Redis.

export type Redis = RedisClientType

const CONNECT_TIMEOUT_MS = 3000
const MAX_RECONNECT_DELAY_MS = 1000

export async function connectRedis(
  url: string,
  logger: Logger,
): Promise<{ commands: Redis; subscriber: Redis }> {
  const shown = maskUrl(url)
  const client = (name: string): Redis => {
    let connected = false
    const redis = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // Before the first connection a failure stops the start (exit 1); after it, retry forever.
        reconnectStrategy: (retries, cause) =>
          connected ? Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS) : cause,
      },
    }) as Redis
    let lost = false
    redis.on('ready', () => {
      connected = true
      if (lost) logger.info({ redis: shown, connection: name }, 'redis connection back')
      lost = false
    })
    // Logged once per loss, not at every retry; the message names the host, never the password.
    redis.on('error', (error: Error) => {
      if (!connected || lost) return
      lost = true
      logger.warn({ redis: shown, connection: name, reason: error.message }, 'redis connection lost')
    })
    return redis
  }
  const commands = client('commands')
  const subscriber = client('subscriber')
  try {
    await commands.connect()
    await subscriber.connect()
  } catch (error) {
    commands.destroy()
    subscriber.destroy()
    const parsed = URL.canParse(url) ? new URL(url) : undefined
    const where = parsed ? `${parsed.hostname}:${parsed.port || '6379'}` : 'its host'
    throw new EngineStartError(`Cannot connect to Redis at ${where} (REDIS_URL=${shown}): ${reason(error)}`)
  }
  return { commands, subscriber }
}

function reason(error: unknown): string {
  const { message, code } = error as { message?: string; code?: string }
  return message || code || String(error)
}
