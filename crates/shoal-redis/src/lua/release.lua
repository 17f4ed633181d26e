-- shoal-redis: return an abandoned call's lease; the call may still reach the server, so it is
-- counted from now (atomic).
-- KEYS[1] the method's window, KEYS[2] concurrency leases, KEYS[3] the method's pending calls,
-- KEYS[4] shared limits
-- ARGV[1] lease id, ARGV[2] default window ms, ARGV[3] slack ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local span, fine, _, live = open_window(KEYS[1], KEYS[3], KEYS[4], ARGV[2], ARGV[3], now)
redis.call('ZREM', KEYS[2], ARGV[1])
return answered(KEYS[1], KEYS[3], live, now, span, fine, 0, ARGV[1], now)
