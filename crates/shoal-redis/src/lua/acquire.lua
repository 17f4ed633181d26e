-- shoal-redis: admit one call of a method, or say how long to wait (atomic).
-- KEYS[1] the method's window (hash of buckets, see window.lua)
-- KEYS[2] concurrency leases (zset: lease id -> expiry, µs)
-- KEYS[3] shared limits (hash: m:<METHOD>, concurrency, window_ms)
-- KEYS[4] the method's 429 block (string with a PX expiry)
-- KEYS[5] id counter, KEYS[6] known methods (set)
-- KEYS[7] the method's pending calls (zset: lease id -> expiry, µs)
-- ARGV[1] method, ARGV[2] default window ms, ARGV[3] slack ms, ARGV[4] lease ttl ms
-- Returns {1, id, 'granted', admitted µs} or {0, wait µs (-1: poll), reason}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('SADD', KEYS[6], ARGV[1])
local blocked = redis.call('PTTL', KEYS[4])
if blocked > 0 then
  return {0, blocked * 1000, 'blocked'}
end
local span, _, _, live, pending = open_window(KEYS[1], KEYS[7], KEYS[3], ARGV[2], ARGV[3], now)
local limit = redis.call('HGET', KEYS[3], 'm:' .. ARGV[1])
if limit then
  limit = math.max(1, tonumber(limit))
  if total(live) + pending >= limit then
    -- Only answered calls leave by time; pending ones leave a span after their answer.
    if pending >= limit then return {0, -1, 'pending'} end
    return {0, wait_for(live, limit - pending, now, span), 'window'}
  end
end
local ttl = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local concurrency = redis.call('HGET', KEYS[3], 'concurrency')
if concurrency and redis.call('ZCARD', KEYS[2]) >= math.max(1, tonumber(concurrency)) then
  return {0, -1, 'concurrency'}
end
local n = redis.call('INCR', KEYS[5])
local id = 'L' .. n
redis.call('ZADD', KEYS[7], now + ttl * 1000, id)
redis.call('PEXPIRE', KEYS[7], ttl * 2 + 1000)
redis.call('ZADD', KEYS[2], now + ttl * 1000, id)
redis.call('PEXPIRE', KEYS[2], ttl * 2 + 1000)
return {1, n, 'granted', now}
