-- wrk script: replays one pre-signed DescribeLoadBalancersTaskResult request with the Host
-- header the signature covers. The simulator must run with --no-replay-check (the same
-- Timestamp/Nonce is reused) and --no-rate-limit. The signed parameters come from the
-- SIM_QUERY variable (bench/sim_bench.sh and bench/poll_throughput fill it in); SIM_METHOD=POST
-- sends them as a form-encoded body (what taskpollerd does by default), otherwise as a GET query.
local query = os.getenv("SIM_QUERY")
if os.getenv("SIM_METHOD") == "POST" then
  wrk.method = "POST"
  wrk.path = "/v2/index.php"
  wrk.body = query
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
else
  wrk.method = "GET"
  wrk.path = "/v2/index.php?" .. query
end
wrk.headers["Host"] = "lb.api.qcloud.com"

-- Every answer is checked (wrk calls `response` in each thread's Lua state; `done` runs in
-- the main state and sums the threads' counters).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"code":0', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
  end
  io.write(string.format("non-success answers: %d\n", total))
end
