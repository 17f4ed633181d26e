-- shoal-redis: a snapshot of the shared limiter.
-- KEYS[1] concurrency leases, KEYS[2] shared limits, KEYS[3] stats, KEYS[4] known methods
-- ARGV[1] default window ms, ARGV[2] slack ms, ARGV[3] window key prefix, ARGV[4] pending calls'
-- key prefix (method appended to each)
-- Returns {window_ms, concurrency|-1, in_flight, concurrency_remaining|-1, rejections,
--          method, limit|-1, used, remaining|-1, ...}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function num(v)
  if v then return tonumber(v) end
  return -1
end
local window_ms = tonumber(redis.call('HGET', KEYS[2], 'window_ms') or ARGV[1])
local slack = tonumber(ARGV[2]) * 1000
local span = window_ms * 1000 + slack
local fine = fine_width(span, slack)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {
  window_ms,
  num(redis.call('HGET', KEYS[2], 'concurrency')),
  redis.call('ZCARD', KEYS[1]),
  num(redis.call('HGET', KEYS[3], 'concurrency_remaining')),
  num(redis.call('HGET', KEYS[3], 'rejections') or '0'),
}
local methods = redis.call('SMEMBERS', KEYS[4])
table.sort(methods)
for _, m in ipairs(methods) do
  local live = read_window(ARGV[3] .. m, now, span)
  local pending = settle(ARGV[3] .. m, ARGV[4] .. m, live, now, span, fine)
  local used = total(live) + pending
  table.insert(out, m)
  table.insert(out, num(redis.call('HGET', KEYS[2], 'm:' .. m)))
  table.insert(out, used)
  table.insert(out, num(redis.call('HGET', KEYS[3], 'remaining:' .. m)))
end
return out
