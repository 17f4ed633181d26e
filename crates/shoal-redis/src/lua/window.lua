-- shoal-redis: one method's sliding window as a hash of at most BUCKETS buckets (prepended to
-- the scripts that use it). Field: the bucket's first moment (µs on Redis's clock); value:
-- "calls sure unsure first last" — our calls, phantoms (calls the server counted that we did
-- not: sure ones stand for phantoms an exact log would hold too, unsure ones cover our own
-- calls at the span's edge), and the earliest and latest moment among them. A bucket stays
-- counted until its latest entry has left the span, so nothing is forgotten sooner than an
-- exact log would forget it. A new bucket starts when the newest is FINE wide; when all are in
-- use, the two neighbours spanning the least time merge. Memory and time per call are
-- constant, whatever a server announced. (The rules are core's LocalRateLimitBackend's.)
--
-- A call is pending from admission to answer, in a sorted set of its own per method (lease id
-- scored by the lease's expiry, renewed with the lease): the server may count it at any moment
-- in between. Answered, it enters the buckets a slack before its answer; abandoned, at that
-- moment; its holder gone (the lease ran out), when the lease ran out.
local BUCKETS = 128

local function parse_bucket(field, v)
  local c, s, u, f, l = string.match(v, '^(%d+) (%d+) (%d+) (%d+) (%d+)$')
  if not c then return nil end
  return {field = field, calls = tonumber(c), sure = tonumber(s), unsure = tonumber(u),
          first = tonumber(f), last = tonumber(l)}
end

local function count(b) return b.calls + b.sure + b.unsure end

local function save(key, b)
  redis.call('HSET', key, b.field, string.format('%d %d %d %d %d',
    b.calls, b.sure, b.unsure, b.first, b.last))
end

-- The live buckets, oldest first (those wholly outside the span are deleted).
local function read_window(key, now, span)
  local flat = redis.call('HGETALL', key)
  local live, gone = {}, {}
  for i = 1, #flat, 2 do
    local b = parse_bucket(flat[i], flat[i + 1])
    if not b or count(b) == 0 or b.last + span <= now then
      table.insert(gone, flat[i])
    else
      table.insert(live, b)
    end
  end
  for i = 1, #gone, 100 do
    redis.call('HDEL', key, unpack(gone, i, math.min(i + 99, #gone)))
  end
  table.sort(live, function(a, b) return a.first < b.first end)
  return live
end

local function total(live)
  local n = 0
  for _, b in ipairs(live) do n = n + count(b) end
  return n
end

-- How long until at most limit - 1 entries are counted (µs).
local function wait_for(live, limit, now, span)
  local excess, dropped = total(live) - limit + 1, 0
  for _, b in ipairs(live) do
    dropped = dropped + count(b)
    if dropped >= excess then return math.max(1, b.last + span - now) end
  end
  return 1
end

-- Counts entries at now.
local function add(key, live, now, fine, calls, sure, unsure)
  if calls + sure + unsure <= 0 then return end
  local newest = live[#live]
  if newest and now - newest.first < fine then
    newest.calls, newest.sure, newest.unsure = newest.calls + calls, newest.sure + sure,
      newest.unsure + unsure
    newest.last = math.max(newest.last, now)
    save(key, newest)
    return
  end
  if #live >= BUCKETS then
    local best, width = 1, nil
    for i = 1, #live - 1 do
      local w = live[i + 1].last - live[i].first
      if not width or w < width then best, width = i, w end
    end
    local a, b = live[best], live[best + 1]
    a.calls, a.sure, a.unsure = a.calls + b.calls, a.sure + b.sure, a.unsure + b.unsure
    a.last = math.max(a.last, b.last)
    save(key, a)
    redis.call('HDEL', key, b.field)
    table.remove(live, best + 1)
  end
  local b = {field = string.format('%d', now), calls = calls, sure = sure, unsure = unsure,
             first = now, last = now}
  save(key, b)
  table.insert(live, b)
end

-- The server counts server_used calls in its window: count at least as many from now on as an
-- exact log would. Ours (answered or pending) and sure phantoms wholly inside the span are
-- matched as they are; the rest is covered by other phantoms moved to now, then by new ones.
-- Returns how many are new.
local function match_server(key, live, now, span, fine, server_used, pending)
  local straddling = live[1] and live[1].first + span <= now
  local held, movable = pending, 0
  for i, b in ipairs(live) do
    if i == 1 and straddling then
      movable = movable + b.sure + b.unsure
    else
      held = held + b.calls + b.sure
      movable = movable + b.unsure
    end
  end
  local need = server_used - held
  if need <= 0 then return 0 end
  local moved = math.min(need, movable)
  local fresh = need - moved
  local sure = math.min(fresh, math.max(0, server_used - total(live) - pending))
  local n = moved
  for i = #live, 1, -1 do
    if n <= 0 then break end
    local b = live[i]
    local from_unsure = math.min(n, b.unsure)
    b.unsure, n = b.unsure - from_unsure, n - from_unsure
    local from_sure = 0
    if i == 1 and straddling then
      from_sure = math.min(n, b.sure)
      b.sure, n = b.sure - from_sure, n - from_sure
    end
    if from_unsure + from_sure > 0 then save(key, b) end
  end
  add(key, live, now, fine, 0, sure, moved + fresh - sure)
  return fresh
end

-- Half the slack, or narrower if the buckets must cover the span at that width.
local function fine_width(span, slack)
  return math.max(1, math.min(math.floor(slack / 2), math.ceil(span / (BUCKETS - 1))))
end

-- When an answered call (slack) or an abandoned one (0) enters the buckets: a slack before now,
-- so it stays counted a window from its answer, but never before its admission (so at least a
-- span from there) nor before the newest bucket's latest entry (the buckets stay in order).
local function answer_date(live, now, slack, admitted)
  local at = math.max(now - slack, admitted)
  local newest = live[#live]
  if newest then at = math.max(at, newest.last) end
  return math.min(at, now)
end

-- Moves one pending call (lease id) into the buckets, if it is still pending; 1 if it was.
local function answered(key, pend, live, now, span, fine, slack, lease, admitted)
  if redis.call('ZREM', pend, lease) == 0 then return 0 end
  add(key, live, answer_date(live, now, slack, admitted), fine, 1, 0, 0)
  redis.call('PEXPIRE', key, math.ceil(span / 1000) + 1000)
  return 1
end

-- Pending calls whose holder stopped renewing them (a crashed process) may have reached the
-- server until their lease ran out: they enter the buckets at the latest of those moments.
-- Returns how many are still pending.
local function settle(key, pend, live, now, span, fine)
  local gone = redis.call('ZCOUNT', pend, '-inf', now)
  if gone > 0 then
    local latest = redis.call('ZREVRANGEBYSCORE', pend, now, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
    redis.call('ZREMRANGEBYSCORE', pend, '-inf', now)
    local at = math.min(tonumber(latest[2]) or now, now)
    local newest = live[#live]
    if newest then at = math.max(at, newest.last) end
    if at + span > now then
      add(key, live, at, fine, gone, 0, 0)
      redis.call('PEXPIRE', key, math.ceil(span / 1000) + 1000)
    end
  end
  return redis.call('ZCARD', pend)
end

-- A method's window as every script opens it: the span and bucket width (from the shared window
-- length, or the default, and the slack), the live buckets, and the pending calls, with those
-- of a crashed holder settled. Returns span, fine, slack (µs), live, pending.
local function open_window(key, pend, limits, default_ms, slack_ms, now)
  local window_ms = tonumber(redis.call('HGET', limits, 'window_ms') or default_ms)
  local slack = tonumber(slack_ms) * 1000
  local span = window_ms * 1000 + slack
  local fine = fine_width(span, slack)
  local live = read_window(key, now, span)
  return span, fine, slack, live, settle(key, pend, live, now, span, fine)
end
