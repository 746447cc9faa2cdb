import { createHash } from 'node:crypto'
import type { Redis } from './connect.js'

// Lua scripts: each runs atomically in Redis, so replicas racing on the same counter never both win.
// Sent once per connection (EVALSHA, falling back to EVAL when Redis does not know the script yet).

export interface Script {
  source: string
  sha: string
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

export async function run(redis: Redis, s: Script, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await redis.evalSha(s.sha, { keys, arguments: args })
  } catch (error) {
    if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
    return redis.eval(s.source, { keys, arguments: args })
  }
}

/** KEYS: override, generation. ARGV: spec JSON, remaining or '', expiry ms or '', channel, notice. */
export const SET_OVERRIDE = script(`
local g = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'generation', g)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'remaining', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return g
`)

/**
 * One use of a counted override, and with it the next step of its sequence: one round trip. KEYS:
 * override, then the token's cursor when the override is a sequence. ARGV: its generation, channel,
 * notice, the sequence's windowMs or ''. Returns -1 when no use was left (or another override replaced
 * it: the request goes on without it), else the sequence's position (1 for the first request, as STEP)
 * or 0 without a sequence. The last use deletes the override and tells every replica.
 */
export const CONSUME = script(`
if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[1] then return -1 end
local left = tonumber(redis.call('HGET', KEYS[1], 'remaining') or '0')
if left <= 0 then return -1 end
left = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
if left == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
if ARGV[4] == '' then return 0 end
local n = redis.call('INCR', KEYS[2])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) else redis.call('DEL', KEYS[2]) end
return n
`)

/**
 * A sequence's position for one token. KEYS: cursor. ARGV: windowMs. Returns 1 for the first request,
 * 2 for the next…; the key lives windowMs past the last request, so a quiet window rewinds it.
 */
export const STEP = script(`
local n = redis.call('INCR', KEYS[1])
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) else redis.call('DEL', KEYS[1]) end
return n
`)

/**
 * Appends a batch to the shared request log. KEYS: log list, id counter. ARGV: capacity, channel,
 * last-ended key prefix, its expiry ms, then per entry: token or '', arrival ms, end ms, and the entry's
 * JSON without its opening brace. Gives each entry its id and sincePreviousMs (whichever replica served
 * the previous request for that token), keeps the newest `capacity` and publishes the batch.
 */
export const APPEND_LOG = script(`
local n = (#ARGV - 4) / 4
local last = redis.call('INCRBY', KEYS[2], n)
local out = {}
for i = 0, n - 1 do
  local token = ARGV[5 + i * 4]
  local since = 'null'
  if token ~= '' then
    -- SET … GET (Redis 6.2+): the previous end and the new one in one command.
    local previous = redis.call('SET', ARGV[3] .. token, ARGV[7 + i * 4], 'PX', ARGV[4], 'GET')
    if previous then
      since = string.format('%d', math.max(0, math.floor(tonumber(ARGV[6 + i * 4]) - tonumber(previous) + 0.5)))
    end
  end
  local entry = '{"id":' .. string.format('%d', last - n + 1 + i) .. ',"sincePreviousMs":' .. since .. ',' .. ARGV[8 + i * 4]
  redis.call('LPUSH', KEYS[1], entry)
  out[#out + 1] = entry
end
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
redis.call('PUBLISH', ARGV[2], '[' .. table.concat(out, ',') .. ']')
return last
`)

/** Deletes every key that starts with `prefix` (SCAN, so Redis is never blocked by one big command). */
export async function unlinkPrefixed(redis: Redis, prefix: string): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
  for await (const found of redis.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    const batch = ([] as string[]).concat(found as string | string[])
    if (batch.length > 0) await redis.unlink(batch)
  }
}
