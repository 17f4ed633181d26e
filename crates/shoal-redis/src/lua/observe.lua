-- shoal-redis: learn from one response (limits, remaining, 429) for every process sharing the
-- keys, and return the answered call's lease in the same step (atomic).
-- KEYS[1] the method's window, KEYS[2] shared limits, KEYS[3] the method's 429 block,
-- KEYS[4] stats (hash), KEYS[5] concurrency leases, KEYS[6] known methods, KEYS[7] the method's
-- pending calls
-- ARGV[1] method, ARGV[2] default window ms, ARGV[3] slack ms, ARGV[4] '1' when the answer was 429,
-- ARGV[5] limit, ARGV[6] remaining, ARGV[7] concurrency limit, ARGV[8] concurrency remaining,
-- ARGV[9] retry-after ms, ARGV[10] the answered call's lease, ARGV[11] its admission (µs)
-- ('' = not said / none). Numbers arrive clamped by the client (shoal_core::clamp); nothing here
-- loops on them.
-- Returns how many calls the server counted that we did not.
local function num(s)
  if s == '' then return nil end
  return tonumber(s)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local method = ARGV[1]
local rejected = ARGV[4] == '1'
redis.call('SADD', KEYS[6], method)
if rejected then
  redis.call('HINCRBY', KEYS[4], 'rejections', 1)
end
local concurrency = num(ARGV[7])
if concurrency then
  redis.call('HSET', KEYS[2], 'concurrency', concurrency)
end
local concurrency_remaining = num(ARGV[8])
if concurrency_remaining then
  redis.call('HSET', KEYS[4], 'concurrency_remaining', concurrency_remaining)
end
local limit = num(ARGV[5])
if limit then
  redis.call('HSET', KEYS[2], 'm:' .. method, limit)
else
  limit = tonumber(redis.call('HGET', KEYS[2], 'm:' .. method) or '')
end
local span, fine, slack, live, pending =
  open_window(KEYS[1], KEYS[7], KEYS[2], ARGV[2], ARGV[3], now)
if ARGV[10] ~= '' then
  redis.call('ZREM', KEYS[5], ARGV[10])
  pending = pending -
    answered(KEYS[1], KEYS[7], live, now, span, fine, slack, ARGV[10], num(ARGV[11]) or 0)
end
local retry = num(ARGV[9])
local remaining = num(ARGV[6])
if rejected and not retry then
  remaining = 0
end
if remaining then
  redis.call('HSET', KEYS[4], 'remaining:' .. method, remaining)
end
local phantoms = 0
if limit and remaining then
  -- The server knows of calls we did not count: count them from now, conservatively, never
  -- fewer than an exact log would. One bucket update, however many.
  phantoms = match_server(KEYS[1], live, now, span, fine, limit - remaining, pending)
  redis.call('PEXPIRE', KEYS[1], math.ceil(span / 1000) + 1000)
end
if rejected and retry and retry > 0 then
  if redis.call('PTTL', KEYS[3]) < retry then
    redis.call('SET', KEYS[3], '1', 'PX', retry)
  end
end
return phantoms
