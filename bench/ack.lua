-- wrk script: one event.acknowledge (1 random problem, action 6) per request, token as Bearer.
-- BENCH_TOKEN: the API token; BENCH_PROBLEMS: how many problem events the database holds
-- (make_db.py's layout: the n-th problem is event (n // 4) * 5 + n % 4 + 1).
local token = os.getenv("BENCH_TOKEN")
local problems = tonumber(os.getenv("BENCH_PROBLEMS"))
local id = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json-rpc"
wrk.headers["Authorization"] = "Bearer " .. token

function init(args)
   math.randomseed(os.time())
end

function request()
   id = id + 1
   local n = math.random(0, problems - 1)
   local eventid = math.floor(n / 4) * 5 + n % 4 + 1
   local body = string.format('{"jsonrpc":"2.0","method":"event.acknowledge","params":{"eventids":["%d"],'
      .. '"action":6,"message":"Problem resolved."},"id":%d}', eventid, id)
   return wrk.format(nil, nil, nil, body)
end

-- One line run.py reads: counts, and latency percentiles in microseconds.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,'
      .. '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
      summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
      latency:percentile(50), latency:percentile(99), latency.max))
end
