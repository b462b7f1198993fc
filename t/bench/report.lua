-- wrk script of t/bench/run.mjs: prints one machine-readable line with the
-- exact totals and latency percentiles (microseconds) of the run.
-- With the environment variable BENCH_COUNT_STATUS=1 it also counts every
-- response whose status is not 200 (redirects included), which makes wrk
-- parse each response in Lua and costs client CPU.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

if os.getenv("BENCH_COUNT_STATUS") == "1" then
  function init(args)
    non200 = 0
    first_bad = ""
  end
  function response(status, headers, body)
    if status ~= 200 then
      non200 = non200 + 1
      if first_bad == "" then first_bad = tostring(status) end
    end
  end
end

function done(summary, latency, requests)
  local non200, bad = -1, ""
  if os.getenv("BENCH_COUNT_STATUS") == "1" then
    non200 = 0
    for _, t in ipairs(threads) do
      non200 = non200 + (t:get("non200") or 0)
      local fb = t:get("first_bad")
      if fb and fb ~= "" and bad == "" then bad = fb end
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"duration_us":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,' ..
    '"max":%d,"non200":%d,"first_bad":"%s"}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, non200, bad))
end
