-- wrk script: replays one pre-signed DescribeLoadBalancersTaskResult request (GET) with the
-- Host header the signature covers. The simulator must run with --no-replay-check (the same
-- Timestamp/Nonce is reused) and --no-rate-limit. The query comes from the SIM_QUERY variable,
-- which bench/sim_bench.sh fills in.
local query = os.getenv("SIM_QUERY")
wrk.method = "GET"
wrk.path = "/v2/index.php?" .. query
wrk.headers["Host"] = "lb.api.qcloud.com"

local bad = 0
response_check = function(status, headers, body)
  if status ~= 200 or not string.find(body, '"code":0', 1, true) then
    bad = bad + 1
  end
end

done = function(summary, latency, requests)
  io.write(string.format("non-success answers: %d\n", bad))
end
