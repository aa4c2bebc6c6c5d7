#!/usr/bin/env bash
# Measures taskpoller-sim's DescribeLoadBalancersTaskResult throughput with wrk over keep-alive.
#   bench/sim_bench.sh [BUILD_DIR] [DURATION] [CONNECTIONS] [THREADS]
# Starts the simulator (replay checks and rate limits off), creates one CLB task through a signed
# POST, then replays a pre-signed GET for that requestId from wrk. Needs python3 and wrk.
set -euo pipefail
build=${1:-build}; duration=${2:-10s}; conns=${3:-64}; threads=${4:-1}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
"$build/bin/taskpoller-sim" --listen 127.0.0.1:0 --port-file "$tmp/port" --no-replay-check \
  --no-rate-limit --log-level warn >"$tmp/out" 2>"$tmp/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")

sign() {  # sign METHOD HOST ACTION name=value... -> form-encoded signed parameters
  python3 - "$@" <<'PY'
import base64, hashlib, hmac, random, sys, time, urllib.parse
method, host, action, *rest = sys.argv[1:]
p = dict(a.split("=", 1) for a in rest)
p.update(Action=action, Region="gz", Timestamp=str(int(time.time())),
         Nonce=str(random.randint(1, 2**31 - 1)), SignatureMethod="HmacSHA256",
         SecretId="AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA")
s = method + host + "/v2/index.php?" + "&".join(f"{k}={p[k]}" for k in sorted(p))
key = b"Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"
p["Signature"] = base64.b64encode(hmac.new(key, s.encode(), hashlib.sha256).digest()).decode()
print(urllib.parse.urlencode(p, quote_via=urllib.parse.quote))
PY
}

created=$(curl -s -H "Host: lb.api.qcloud.com" \
  --data "$(sign POST lb.api.qcloud.com DeleteLoadBalancers loadBalancerIds.0=lb-bench)" \
  "http://127.0.0.1:$port/v2/index.php")
request_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requestId"])' "$created")
export SIM_QUERY=$(sign GET lb.api.qcloud.com DescribeLoadBalancersTaskResult requestId="$request_id")
echo "requestId $request_id; wrk -t$threads -c$conns -d$duration"
wrk -t"$threads" -c"$conns" -d"$duration" -s "$here/sim_task_result.lua" "http://127.0.0.1:$port"
