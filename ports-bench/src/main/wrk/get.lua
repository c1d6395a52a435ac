-- GET of the URL's path on every request (wrk's default request), with the JSON summary of summary.lua.
-- Usage: wrk -t2 -c16 -d10s --timeout 2s -s get.lua http://127.0.0.1:PORT/ports/directory NAME
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local summary = require("summary")
name = "get" -- a global: done() reads it from a thread

function init(args)
  name = args[1] or name
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done(s, latency, requests)
  summary.line(threads[1] and threads[1]:get("name") or "get", s, latency, {}) -- init (per thread) saw the arguments
end
