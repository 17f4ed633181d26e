-- shoal-redis: push the expiry of leases this process still holds (only those still present),
-- and of their pending calls.
-- KEYS[1] concurrency leases (zset: lease id -> expiry, µs), KEYS[2..] each lease's method's
-- pending calls (zset, same scores)
-- ARGV[1] lease ttl ms, ARGV[2..] lease ids (ARGV[i] is pending in KEYS[i])
-- Returns how many leases were still there to renew.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + ttl * 1000, ARGV[i])
  if redis.call('ZADD', KEYS[i], 'XX', 'CH', now + ttl * 1000, ARGV[i]) > 0 then
    redis.call('PEXPIRE', KEYS[i], ttl * 2 + 1000)
  end
end
if renewed > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl * 2 + 1000)
end
return renewed
