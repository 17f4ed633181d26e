-- shoal-redis: one method's sliding window as a hash of slot records (prepended to the scripts
-- that use it). Field: the slot's start (µs on Redis's clock, on a grid of span / (SLOTS - 1));
-- value: "count first last", the number of calls in the slot and the earliest and latest of
-- them. A record stays counted until its latest call has left the span, so no call is
-- forgotten sooner than an exact log would forget it, and the hash never holds more than about
-- SLOTS records: memory and time per call are constant, whatever a server announced.
local SLOTS = 128

local function parse_slot(v)
  local c, f, l = string.match(v, '^(%d+) (%d+) (%d+)$')
  if not c then return nil end
  return tonumber(c), tonumber(f), tonumber(l)
end

-- Drops records wholly outside the span; returns the calls counted, those wholly inside the
-- span, and the live records as {count, first, last}.
local function read_window(key, now, span)
  local flat = redis.call('HGETALL', key)
  local used, certain, live, gone = 0, 0, {}, {}
  for i = 1, #flat, 2 do
    local c, f, l = parse_slot(flat[i + 1])
    if not c or l + span <= now then
      table.insert(gone, flat[i])
    else
      used = used + c
      if f + span > now then certain = certain + c end
      table.insert(live, {c, f, l})
    end
  end
  for i = 1, #gone, 100 do
    redis.call('HDEL', key, unpack(gone, i, math.min(i + 99, #gone)))
  end
  return used, certain, live
end

-- How long until at most limit - 1 of the live calls are counted (µs).
local function wait_for(live, used, limit, now, span)
  table.sort(live, function(a, b) return a[3] < b[3] end)
  local excess, dropped = used - limit + 1, 0
  for _, r in ipairs(live) do
    dropped = dropped + r[1]
    if dropped >= excess then return math.max(1, r[3] + span - now) end
  end
  return 1
end

-- Counts n calls at now in the current slot.
local function add_calls(key, now, span, n)
  if n <= 0 then return end
  local width = math.max(1, math.ceil(span / (SLOTS - 1)))
  local field = string.format('%d', math.floor(now / width) * width)
  local c, f, l = n, now, now
  local old = redis.call('HGET', key, field)
  if old then
    local oc, of, ol = parse_slot(old)
    if oc then c, f, l = c + oc, math.min(f, of), math.max(l, ol) end
  end
  redis.call('HSET', key, field, string.format('%d %d %d', c, f, l))
  redis.call('PEXPIRE', key, math.ceil(span / 1000) + 1000)
end
