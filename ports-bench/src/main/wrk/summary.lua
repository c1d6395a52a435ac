-- Shared by the wrk scripts of daemon-load.sh: one JSON line "RESULT {...}" after wrk's own report,
-- with the counts wrk keeps (non-2xx responses included: wrk exits 0 even when every answer failed)
-- and the latency percentiles in milliseconds.
local summary = {}

function summary.line(name, s, latency, extra)
  local seconds = s.duration / 1e6
  local e = s.errors
  local fields = {
    string.format('"name":"%s"', name),
    string.format('"requests":%d', s.requests),
    string.format('"seconds":%.3f', seconds),
    string.format('"requests_per_second":%.1f', s.requests / seconds),
    string.format('"non_2xx":%d', e.status),
    string.format('"socket_errors":%d', e.connect + e.read + e.write + e.timeout),
    string.format('"timeouts":%d', e.timeout),
    string.format('"p50_ms":%.3f', latency:percentile(50) / 1000),
    string.format('"p90_ms":%.3f', latency:percentile(90) / 1000),
    string.format('"p99_ms":%.3f', latency:percentile(99) / 1000),
    string.format('"max_ms":%.3f', latency.max / 1000),
  }
  for k, v in pairs(extra or {}) do
    fields[#fields + 1] = string.format('"%s":%s', k, v)
  end
  io.write("RESULT {" .. table.concat(fields, ",") .. "}\n")
end

return summary
