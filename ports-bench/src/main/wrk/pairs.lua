-- Allocate+release pairs against the registry daemon: each connection asks POST /ports/allocate
-- (201, the new allocation's id is queued) or, when its thread has an id queued, POST /ports/release
-- of that id (200). A pair is counted when its release answered 200; any other status is "failed"
-- (and in wrk's non-2xx count when 4xx/5xx).
-- Usage: PORTS_TOKEN=... wrk -t2 -c16 -d10s --timeout 2s -s pairs.lua http://127.0.0.1:PORT SERVICE_TYPE
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
