-- SPDX-License-Identifier: Apache-2.0
-- wrk script of t/bench/run.mjs and soak.mjs: prints one machine-readable
-- line with the exact totals and latency percentiles (microseconds) of the
-- run.
-- With the environment variable BENCH_COUNT_STATUS=1 it also counts every
-- response whose status is not 200 (redirects included, and those apart),
-- which makes wrk parse each response in Lua and costs client CPU.
-- With BENCH_COOKIES=<file> (one Cookie header value a line) every request
-- carries the next cookie of the list instead of one fixed header: thread
-- t of BENCH_THREADS starts at cookie (t-1)*N/BENCH_THREADS + 1 and wraps
-- around (BENCH_START=S: each starts S cookies further on). The requests
-- are formatted once, in init; responses are then
-- always counted (a non-200 is a lost session).
-- With BENCH_SKEW=1 as well, each request picks its cookie with a skew
-- instead of in turn: rank k (the k-th cookie of the list) with a chance
-- of about 1 / (k ln N) (Zipf's law with exponent 1; drawn as e^(u ln(N+1))
-- for a uniform u, one random number a request), the same ranks hot in
-- every thread: a few users busy, most seldom seen, as on a real site.
local threads = {}
local cookie_file = os.getenv("BENCH_COOKIES")
if cookie_file == "" then cookie_file = nil end
local counting = os.getenv("BENCH_COUNT_STATUS") == "1" or cookie_file ~= nil
local skew = os.getenv("BENCH_SKEW") == "1"

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  non200 = 0
  redirects = 0
  first_bad = ""
  if cookie_file then
    reqs = {}
    for line in io.lines(cookie_file) do
      if line ~= "" then
        reqs[#reqs + 1] = wrk.format(nil, nil, { Cookie = line })
      end
    end
    if #reqs == 0 then error("BENCH_COOKIES: no cookies in " .. cookie_file) end
    local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1") or 1
    -- pos is the index of the cookie sent last; BENCH_START moves every
    -- thread's start on by that many cookies (run.mjs --steady: a run
    -- goes on where the one before it stopped)
    local start = tonumber(os.getenv("BENCH_START") or "0") or 0
    pos = math.floor(start + (thread_no - 1) * #reqs / nthreads) % #reqs
    log_n1 = math.log(#reqs + 1)
    math.randomseed(thread_no * 7919 + os.time())
  end
end

if cookie_file and skew then
  function request()
    local k = math.floor(math.exp(math.random() * log_n1))
    if k < 1 then k = 1 elseif k > #reqs then k = #reqs end
    return reqs[k]
  end
elseif cookie_file then
  function request()
    pos = pos + 1
    if pos > #reqs then pos = 1 end
    return reqs[pos]
  end
end

if counting then
  function response(status, headers, body)
    if status ~= 200 then
      non200 = non200 + 1
      if status >= 300 and status < 400 then redirects = redirects + 1 end
      if first_bad == "" then first_bad = tostring(status) end
    end
  end
end

function done(summary, latency, requests)
  local non200, redir, bad = -1, -1, ""
  if counting then
    non200, redir = 0, 0
    for _, t in ipairs(threads) do
      non200 = non200 + (t:get("non200") or 0)
      redir = redir + (t:get("redirects") or 0)
      local fb = t:get("first_bad")
      if fb and fb ~= "" and bad == "" then bad = fb end
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"duration_us":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,' ..
    '"max":%d,"non200":%d,"redirects":%d,"first_bad":"%s"}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, non200, redir, bad))
end
