#!/usr/bin/env bash
# Configuration reload: SIGHUP and POST /v1/reload share one path; a bad file keeps the old
# configuration and reports every error; a good one is applied.
source "$(dirname "$0")/lib.sh" "$@"
# StopInstances lasts a minute: a live batch for the long-poll check below.
start_sim "" 'operations: {default: {duration: {min: 300ms, max: 900ms}}, StopInstances: {duration: 1m}}'
write_config "rate_limit: {default: 20}"
start_daemon

# Good reload through the API.
write_config "rate_limit: {default: 15}
store: {retention: 7h}"
r=$(api POST /v1/reload); expect_contains "$r" "200 " "good reload"
expect_contains "$(api GET /v1/config)" '"retention":"7h"' "new retention visible"
pass "POST /v1/reload applies a valid file"

# Bad reload: 400 with details, old configuration kept, daemon still serving.
cp "$work/taskpoller.yaml" "$work/good.yaml"
printf 'cloud:\n  region: ap-guangzhou\n  bogus_key: 1\n' >"$work/taskpoller.yaml"
r=$(api POST /v1/reload); expect_contains "$r" "400 " "bad reload status"
expect_contains "$r" "bogus_key" "bad reload names the key"
expect_contains "$(api GET /_ping)" "200 " "still serving"
expect_contains "$(api GET /metrics)" "taskpoller_config_last_reload_successful 0" "metric says failed"
pass "a bad file is refused with its errors; the old configuration stays"

# SIGHUP: same path; restore the good file and reload by signal.
cp "$work/good.yaml" "$work/taskpoller.yaml"
kill -HUP "$daemon_pid"
for _ in $(seq 50); do
    grep -q "configuration reloaded" "$work/daemon.log" && [[ $(grep -c "configuration reloaded" "$work/daemon.log") -ge 2 ]] && break
    sleep 0.1
done
[[ $(grep -c "configuration reloaded" "$work/daemon.log") -ge 2 ]] || fail "SIGHUP did not reload"
expect_contains "$(api GET /metrics)" "taskpoller_config_last_reload_successful 1" "metric says ok"
pass "SIGHUP reloads"

# Control-socket limits are applied by a reload: the largest body and the longest wait.
big=$(printf '{"service":"lb","request_id":"1","pad":"%0900d"}' 0)
expect_contains "$(api POST /v1/tasks "$big")" "400 " "a 1 KB body is read (and refused for its field)"
running=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*"[^}]*"status":2' | head -n 1 | cut -d'"' -f4)
r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":[\"$running\"]}}")
expect_contains "$r" "202 " "submit a minute-long StopInstances"
batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)
write_config "rate_limit: {default: 15}"
sed -i "s|^control: {socket: $socket}|control: {socket: $socket, max_body: 1KiB, max_wait: 1s}|" \
    "$work/taskpoller.yaml"
r=$(api POST /v1/reload); expect_contains "$r" "200 " "reload with control limits"
expect_contains "$r" '"restart_required":[]' "control limits need no restart"
expect_contains "$(api POST /v1/tasks "$big$big")" "413 " "a 2 KB body is over the new max_body"
t0=$(now_ms)
r=$(api GET "/v1/batches/$batch?wait=20s"); t1=$(now_ms)
expect_contains "$r" '"state":"submitted"' "the batch is still live"
(( t1 - t0 >= 800 && t1 - t0 < 5000 )) || fail "wait=20s with max_wait 1s took $((t1 - t0)) ms"
pass "control.max_body and control.max_wait are applied by a reload"

# Restart-only setting changed: applied later, named in the log.
write_config "rate_limit: {default: 15}
store: {max_finished: 5000}"
sed -i "s|socket: $socket|socket: $work/other.sock|" "$work/taskpoller.yaml"
r=$(api POST /v1/reload); expect_contains "$r" "control.socket" "restart-required key listed"
pass "settings that need a restart are named"
stop_daemon
