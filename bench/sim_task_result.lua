-- wrk script: replays one pre-signed DescribeLoadBalancersTaskResult request with the Host
-- header the signature covers. The simulator must run with --no-replay-check (the same
-- Timestamp/Nonce is reused) and --no-rate-limit. The signed parameters come from the
-- SIM_QUERY variable (bench/sim_bench.sh and bench/poll_throughput fill it in); SIM_METHOD=POST
-- sends them as a form-encoded body (what taskpollerd does by default), otherwise as a GET query.
--
-- API 3.0 (bench/poll_throughput --protocol v3): SIM_HEADERS holds "Name: value" lines (Host,
-- Content-Type, Authorization, X-TC-*), SIM_BODY the signed JSON body (DescribeTaskStatus);
-- it is POSTed to "/" and an answer counts as a success when it shows the task running
-- ("Status":2, no Error).
local query = os.getenv("SIM_QUERY")
local v3_headers = os.getenv("SIM_HEADERS")
local ok_mark = '"code":0'
if v3_headers then
  wrk.method = "POST"
  wrk.path = "/"
  wrk.body = os.getenv("SIM_BODY")
  for name, value in string.gmatch(v3_headers, "([^:\n]+): ([^\n]*)") do
    wrk.headers[name] = value
  end
  ok_mark = '"Status":2'
elseif os.getenv("SIM_METHOD") == "POST" then
  wrk.method = "POST"
  wrk.path = "/v2/index.php"
  wrk.body = query
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
else
  wrk.method = "GET"
  wrk.path = "/v2/index.php?" .. query
end
if not v3_headers then
  wrk.headers["Host"] = "lb.api.qcloud.com"
end

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
  if status ~= 200 or not string.find(body, ok_mark, 1, true) or
     string.find(body, '"Error"', 1, true) then
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
