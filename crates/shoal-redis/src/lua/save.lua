-- shoal-redis: write a token record if the stored version is still the expected one
-- (compare-and-set), bumping the version.
-- KEYS[1] record (hash: version, data, format)
-- ARGV[1] expected version ('' = write whatever is stored), ARGV[2] data, ARGV[3] format
-- Returns {1, new version} or {0, the version found}.
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'version', current + 1, 'data', ARGV[2], 'format', ARGV[3])
return {1, current + 1}
