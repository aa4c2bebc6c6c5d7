#!/usr/bin/env bash
# taskpollerd end to end: --check-config, start, submit CVM and CLB batches through the socket,
# wait until every task is terminal, compare with the simulator's ground truth, error statuses,
# taskpollerctl, secrets never shown, graceful SIGTERM.
source "$(dirname "$0")/lib.sh" "$@"

start_sim
write_config

# --check-config: valid, then a broken file names file:line:col.
"$daemon_bin" --check-config --config "$work/taskpoller.yaml" >/dev/null || fail "--check-config rejected a valid file"
printf 'cloud:\n  region: ap-guangzhou\n  scheme: ftp\npolling:\n  interval: soon\n  bogus: 1\ncontrol:\n  group: no-such-group-tp16\n' >"$work/bad.yaml"
set +e; out=$("$daemon_bin" --check-config --config "$work/bad.yaml" 2>&1); rc=$?; set -e
((rc == 1)) || fail "--check-config on a bad file exited $rc"
expect_contains "$out" "bad.yaml:3:" "scheme error position"
expect_contains "$out" "bad.yaml:5:" "interval error position"
expect_contains "$out" "bad.yaml:6:" "unknown key position"
expect_contains "$out" "bad.yaml:8:10: control.group: unknown group 'no-such-group-tp16'" "unknown socket group"
pass "--check-config reports every error with file:line:col"

start_daemon
r=$(api GET /_ping); expect_contains "$r" "200 OK" "ping"

# A CVM batch: 10 instances, 2 of them stopped already (rejected by the cloud).
ids=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*"' | cut -d'"' -f4 | head -n 10)
json_ids=$(printf '"%s",' $ids); json_ids="[${json_ids%,}]"
r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids},\"labels\":{\"run\":\"e2e\"},\"client_token\":\"tok-1\"}")
expect_contains "$r" "202 " "submit status"
cvm_batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)
[[ -n "$cvm_batch" ]] || fail "no batch id in $r"
expect_contains "$r" '"state":"rejected"' "some entries rejected"
pass "CVM batch $cvm_batch submitted"

# Same client_token, same content: the same batch, nothing sent again; other content: 409.
r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids},\"labels\":{\"run\":\"e2e\"},\"client_token\":\"tok-1\"}")
expect_contains "$r" "$cvm_batch" "idempotent resubmission"
r=$(api POST /v1/batches '{"service":"cvm","action":"StartInstances","params":{"instanceIds":["ins-x"]},"client_token":"tok-1"}')
expect_contains "$r" "409 " "client_token reuse"
pass "client_token deduplicates and refuses reuse"

# CLB changes through taskpollerctl.
lb_batch=$("$ctl_bin" --json submit lb ModifyLoadBalancerBackends --param loadBalancerId=lb-e2e \
    --param backends.0.instanceId=ins-a --param-json backends.0.weight=10 --label run=e2e |
    grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)
[[ -n "$lb_batch" ]] || fail "taskpollerctl submit printed no batch"

# Bad input gets honest statuses.
expect_contains "$(api POST /v1/batches '{"service":')" "400 " "malformed JSON"
expect_contains "$(api POST /v1/batches '{"service":"cvm","action":"StopInstances","params":{},"bogus":1}')" "bogus" "unknown field named"
expect_contains "$(api POST /v1/batches '{"service":"cvm","action":"Explode","params":{"instanceIds":["i"]}}')" "400 " "unknown action"
expect_contains "$(api GET /v1/batches/b-nosuchbatch0)" "404 " "unknown batch"
expect_contains "$(api PUT /v1/batches)" "405 " "wrong method"
expect_contains "$(api GET /v1/nothing)" "404 " "unknown route"
pass "bad requests get 400/404/405 with JSON errors"

# Wait for both batches (long-poll), then compare with the simulator's ground truth.
set +e; "$ctl_bin" wait "$cvm_batch" "$lb_batch" --timeout 90s >"$work/wait.out" 2>&1; rc=$?; set -e
((rc == 0 || rc == 1)) || fail "taskpollerctl wait exited $rc: $(tail -n 5 "$work/wait.out")"
r=$(api GET "/v1/batches/$cvm_batch?wait=30s")
expect_contains "$r" '"state":"done"' "CVM batch done"
tasks=$(api GET "/v1/tasks?batch=$cvm_batch&limit=100")
truth=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances")
for id in $ids; do
    shown=$(echo "$truth" | grep -o "\"id\":\"$id\",[^}]*\"status\":[0-9-]*" | grep -o '[0-9-]*$' || true)
    if echo "$tasks" | grep -q "\"$id\""; then
        [[ "$shown" == 4 ]] || fail "$id: daemon says succeeded/failed, simulator shows status $shown"
    fi
done
r=$(api GET "/v1/batches/$lb_batch"); expect_contains "$r" '"state":"done"' "CLB batch done"
pass "every task terminal and matching the simulator"

# Adopt a requestId submitted by someone else, then cancel one.
r=$(api POST /v1/tasks "{\"service\":\"lb\",\"request_id\":\"99999999\"}")
expect_contains "$r" "201 " "adopt"
r=$(api DELETE /v1/tasks/lb/99999999); expect_contains "$r" '"state":"cancelled"' "cancel"
expect_contains "$(api DELETE /v1/tasks/lb/99999999)" "409 " "cancel twice"
pass "adopt and cancel"

# Events: resumable from a sequence number.
ev=$(curl -s -m 2 --unix-socket "$socket" "http://localhost/v1/events?since=0" || true)
expect_contains "$ev" '"seq":1' "events from the start"
pass "events stream"

# Secrets: never in /v1/config, never in the log.
r=$(api GET /v1/config); expect_contains "$r" "redacted" "config redacted"
expect_not_contains "$r" "$secret_key" "config"
expect_not_contains "$(cat "$work/daemon.log")" "$secret_key" "daemon log"
r=$(api GET /metrics); expect_contains "$r" "taskpoller_tasks" "metrics"
pass "secrets stay secret; metrics served"

stop_daemon
[[ ! -S "$socket" ]] || fail "socket file left behind"
pass "SIGTERM: graceful exit 0, socket removed"
