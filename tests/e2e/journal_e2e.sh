#!/usr/bin/env bash
# The journal through the real daemon: a graceful restart keeps batches, tasks and client tokens
# and resumes polling; a journal damaged in the middle stops the start (exit 1, file and offset
# named) unless --recover; a torn tail is truncated with a warning.
source "$(dirname "$0")/lib.sh" "$@"
start_sim 'instances: {running: 6, stopped: 0}'
write_config "store: {journal: $work/state/journal, durability: strict}"
mkdir -p "$work/state"
start_daemon

r=$(api GET /v1/status); expect_contains "$r" '"journal":{"enabled":true' "status shows the journal"
expect_contains "$r" '"healthy":true' "journal healthy"
ids=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*"' | cut -d'"' -f4 | head -n 6)
json_ids=$(printf '"%s",' $ids); json_ids="[${json_ids%,}]"
body="{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids},\"client_token\":\"j-1\"}"
r=$(api POST /v1/batches "$body"); expect_contains "$r" "202 " "submit"
batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)
r=$(api POST /v1/batches '{"service":"lb","action":"ModifyLoadBalancerBackends","params":{"loadBalancerId":"lb-j","backends":[{"instanceId":"ins-a","weight":5}]}}')
expect_contains "$r" "202 " "submit lb"
lb_batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)
pass "batches $batch and $lb_batch submitted with the journal on"

# Graceful restart while the tasks still run (the simulator takes 0.3-0.9 s per operation).
stop_daemon
start_daemon
grep -q "live tasks resume polling" "$work/daemon.log" || fail "no replay line in the log"
r=$(api GET "/v1/batches/$batch"); expect_contains "$r" "200 " "batch survived the restart"
r=$(api POST /v1/batches "$body"); expect_contains "$r" "200 " "client token still deduplicates"
expect_contains "$r" "$batch" "same batch returned"
r=$(api GET "/v1/batches/$batch?wait=60s"); expect_contains "$r" '"state":"done"' "CVM batch done after restart"
r=$(api GET "/v1/batches/$lb_batch?wait=60s"); expect_contains "$r" '"state":"done"' "lb batch done after restart"
stats=$(curl -s "http://127.0.0.1:$sim_port/_sim/stats")
expect_not_contains "$stats" '"StopInstances":2' "nothing sent twice"
pass "a graceful restart keeps everything and resumes polling"

# Damage in the middle: refused, with the file and offset named; --recover starts.
stop_daemon
log=$work/state/journal
size=$(stat -c %s "$log")
((size > 200)) || fail "journal unexpectedly small ($size bytes)"
printf '\xff\xff\xff\xff' | dd of="$log" bs=1 seek=20 conv=notrunc status=none
set +e
timeout 30 "$daemon_bin" --config "$work/taskpoller.yaml" >"$work/refused.out" 2>&1; rc=$?
set -e
((rc == 1)) || fail "a damaged journal: expected exit 1, got $rc: $(tail -n 3 "$work/refused.out")"
expect_contains "$(cat "$work/refused.out")" "corrupt record at offset" "refusal names the offset"
expect_contains "$(cat "$work/refused.out")" "--recover" "refusal names the way out"
pass "a journal damaged in the middle stops the start (exit 1)"
"$daemon_bin" --config "$work/taskpoller.yaml" --recover 2>>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 150); do curl -s --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1 && break; sleep 0.1; done
expect_contains "$(api GET /_ping)" "200 " "started with --recover"
grep -q "RECOVER:" "$work/daemon.log" || fail "no RECOVER line in the log"
r=$(api GET "/v1/batches/$lb_batch"); expect_contains "$r" "200 " "later records kept"
stop_daemon
start_daemon  # compacted by --recover: no flag needed any more
pass "--recover skips the damage and compacts; the next start needs no flag"

# A torn tail (a crash in the middle of a write): truncated with a warning, not refused.
stop_daemon
printf '\x40\x00\x00\x00\x01\x02' >>"$log"
start_daemon
grep -q "torn or corrupt tail" "$work/daemon.log" || fail "no torn-tail warning"
stop_daemon
pass "a torn tail is truncated with a warning"
