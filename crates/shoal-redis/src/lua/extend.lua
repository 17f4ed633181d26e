-- shoal-redis: extend the refresh lock only if it is still ours.
-- KEYS[1] lock; ARGV[1] fencing value, ARGV[2] ttl ms. Returns 1 when extended, 0 when lost.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
