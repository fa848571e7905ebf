/**
 * The Lua scripts that make each conditional write one atomic step in Redis (a script runs
 * without any other command in between: https://redis.io/docs/latest/commands/eval/).
 * ioredis sends them with EVALSHA, and with EVAL when a restarted Redis has forgotten them
 * (NOSCRIPT).
 *
 * Every script is idempotent: a command re-sent after a reconnection (the first one having run
 * before the connection dropped) gets the same answer.
 *
 * Fencing (a lease alone cannot stop a holder that was paused past it:
 * https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html): each lease of a lock gets the next number of the lock's counter, its
 * fencing token. A write made under a lease carries it, and is refused once a later lease of the
 * same lock has been issued — the holder that outlived its lease cannot overwrite what the next
 * holder read or wrote.
 */

/**
 * Saves a token set. KEYS: the token set's hash, the fence counter of its lock. ARGV: version,
 * value (the encoded TokenSet), the writer's fencing token ("" without a lease).
 *
 * - "fenced": the writer's lease was followed by another (nothing written);
 * - "stale": the stored token set is as new or newer (nothing written) — versions never go back;
 * - "saved": written (or already there, for a re-sent command).
 */
const saveTokens = `
local fence = ARGV[3]
local value = redis.call('HGET', KEYS[1], 'value')
if value == ARGV[2] then return 'saved' end
if fence ~= '' then
  local current = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(fence) < current then return 'fenced' end
end
local stored = redis.call('HGET', KEYS[1], 'version')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 'stale' end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'value', ARGV[2])
return 'saved'
`;

/**
 * Deletes a token set (a dead refresh grant, a logout). KEYS: the token set's hash, the fence
 * counter. ARGV: the writer's fencing token ("" without a lease). "fenced" or "deleted".
 */
const deleteTokens = `
local fence = ARGV[1]
if fence ~= '' then
  local current = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(fence) < current then return 'fenced' end
end
redis.call('DEL', KEYS[1])
return 'deleted'
`;

/**
 * Takes a lease if nobody holds one. KEYS: the lock, its fence counter. ARGV: holder id, lease
 * in milliseconds. The new fencing token, or 0 when the lock is held. A holder re-sending its
 * own acquisition finds its own lease: its fencing token again.
 */
const acquire = `
local held = redis.call('GET', KEYS[1])
if held then
  local fence, holder = string.match(held, '^(%d+):(.*)$')
  if holder == ARGV[1] then return tonumber(fence) end
  return 0
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
return fence
`;

/** Extends a lease that is still the caller's. KEYS: the lock. ARGV: `<fence>:<holder>`, lease. 1 or 0. */
const renew = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Ends a lease that is still the caller's. KEYS: the lock. ARGV: `<fence>:<holder>`. 1 or 0. */
const release = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

export const scripts = {
  authchartSaveTokens: { numberOfKeys: 2, lua: saveTokens },
  authchartDeleteTokens: { numberOfKeys: 2, lua: deleteTokens },
  authchartAcquire: { numberOfKeys: 2, lua: acquire },
  authchartRenew: { numberOfKeys: 1, lua: renew },
  authchartRelease: { numberOfKeys: 1, lua: release },
} as const;
