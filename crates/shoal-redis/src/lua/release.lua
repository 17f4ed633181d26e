-- shoal-redis: return an abandoned call's lease; the call may still reach the server, so it is
-- counted from now (atomic).
-- KEYS[1] the method's window, KEYS[2] concurrency leases, KEYS[3] the method's pending calls,
-- KEYS[4] shared limits
-- ARGV[1] lease id, ARGV[2] default window ms, ARGV[3] slack ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window_ms = tonumber(redis.call('HGET', KEYS[4], 'window_ms') or ARGV[2])
local slack = tonumber(ARGV[3]) * 1000
local span = window_ms * 1000 + slack
local fine = fine_width(span, slack)
local live = read_window(KEYS[1], now, span)
settle(KEYS[1], KEYS[3], live, now, span, fine)
redis.call('ZREM', KEYS[2], ARGV[1])
return answered(KEYS[1], KEYS[3], live, now, span, fine, 0, ARGV[1], now)
