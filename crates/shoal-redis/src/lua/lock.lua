-- shoal-redis: take the refresh lock if free, and read the record's version in the same step.
-- KEYS[1] lock, KEYS[2] record (hash with a `version` field)
-- ARGV[1] fencing value, ARGV[2] ttl ms
-- Returns {1, version} when taken, {0, ms until the current holder's lock expires}.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, tonumber(redis.call('HGET', KEYS[2], 'version') or '0')}
end
return {0, redis.call('PTTL', KEYS[1])}
