-- Allocate+release pairs against the registry daemon: each connection asks POST /ports/allocate
-- (201, the new allocation's id is queued) or, when its thread has an id queued, POST /ports/release
-- of that id (200). A pair is counted when its release answered 200; any other status is "failed"
-- (and in wrk's non-2xx count when 4xx/5xx).
-- Usage: PORTS_TOKEN=... wrk -t2 -c16 -d10s --timeout 2s -s pairs.lua http://127.0.0.1:PORT SERVICE_TYPE
-- Closed-loop by default (each connection sends its next request as soon as the answer came). With
-- PAIRS_RATE=N (pairs per second, all threads together) each thread spaces its requests at 2N /
-- PAIRS_THREADS (default 2) per second on a schedule of its own (LuaJIT's ffi for the monotonic clock;
-- wrk's delay() is in whole milliseconds, so a request due within 1 ms goes at once; the rate reached
-- is reported, and is lower when the server cannot keep up). Latency is still counted from the
-- request's write: this measures the p99 at about that rate, not at the most the CPUs allow.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local summary = require("summary")

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  threads[#threads + 1] = thread
end

local token, service_type
local queue, head, tail = {}, 1, 0
local n = 0
allocated, released, failed, unparsed = 0, 0, 0, 0

function init(args)
  token = os.getenv("PORTS_TOKEN") or error("PORTS_TOKEN is not set: the admin token of the daemon")
  service_type = args[1] or "dynamic"
end

-- PAIRS_RATE: delay() is defined only then (wrk looks for it once, in its main Lua state), so the
-- default closed-loop run calls nothing more per request than before
local rate = tonumber(os.getenv("PAIRS_RATE") or "")
if rate and rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[ typedef struct { long tv_sec; long tv_nsec; } pairs_timespec; int clock_gettime(int, pairs_timespec *); ]]
  local ts = ffi.new("pairs_timespec")
  local function now()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
  -- each thread's share: N pairs/s are 2N requests/s over PAIRS_THREADS threads (daemon-load.sh runs wrk with -t2)
  local interval = tonumber(os.getenv("PAIRS_THREADS") or "2") / (2 * rate)
  local slot
  function delay()
    local t = now()
    if slot == nil or slot < t - 0.005 then
      slot = t -- behind by more than 5 ms (a stall): start the schedule again rather than send a burst
    end
    local wait = slot - t
    slot = slot + interval
    return wait > 0 and math.floor(wait * 1000) or 0
  end
end

local function headers()
  return { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
end

function request()
  if head <= tail then
    local id = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/ports/release", headers(), '{"allocation_id":"' .. id .. '"}')
  end
  n = n + 1
  local body = string.format('{"service_name":"load-%d-%d","service_type":"%s","required":false}', thread_id, n, service_type)
  return wrk.format("POST", "/ports/allocate", headers(), body)
end

function response(status, hdrs, body)
  if status == 201 then
    local id = body:match('"allocation_id"%s*:%s*"([^"]+)"')
    if id then
      allocated = allocated + 1
      tail = tail + 1
      queue[tail] = id
    else
      unparsed = unparsed + 1
    end
  elseif status == 200 then
    released = released + 1
  else
    failed = failed + 1
  end
end

function done(s, latency, requests)
  local a, r, f, u = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("allocated")
    r = r + t:get("released")
    f = f + t:get("failed")
    u = u + t:get("unparsed")
  end
  local seconds = s.duration / 1e6
  summary.line("pairs", s, latency, {
    allocated = a, released = r, failed = f, unparsed = u,
    pairs_per_second = string.format("%.1f", r / seconds) })
end
