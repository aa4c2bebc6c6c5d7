#!/usr/bin/env bash
# `taskpollerctl wait` against the real daemon (issue 18): batches and tasks get an
# expected_finish_at once the daemon has learned their action; and across a restart (SIGTERM
# mid-wait, started again on the same journal) the wait says once that it lost the daemon,
# reconnects, and exits 0 when the batch is done.
# Usage: wait_restart_e2e.sh DAEMON CTL SIM
source "$(dirname "$0")/lib.sh" "$@"
start_sim 'instances: {running: 26, stopped: 0}' "operations: {default: {duration: {min: 2s, max: 3s}}}"
mkdir -p "$work/state"
write_config "store: {journal: $work/state/journal, durability: strict}"
start_daemon
all_ids=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*"' | cut -d'"' -f4)
stop_batch() {  # stop_batch ID... -> the new batch's id
    local json_ids r
    json_ids=$(printf '"%s",' "$@"); json_ids="[${json_ids%,}]"
    r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids}}")
    expect_contains "$r" "202 " "submit"
    echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4
}

# The daemon learns StopInstances from 20 completions (learning's min_samples): only then does a
# live batch of that action get an expected_finish_at.
learn=$(stop_batch $(echo "$all_ids" | head -n 20))
r=$(api GET "/v1/batches/$learn"); expect_contains "$r" '"expected_finish_at":null' "nothing learned yet"
r=$(api GET "/v1/batches/$learn?wait=30s"); expect_contains "$r" '"state":"done"' "learning batch done"
expect_contains "$r" '"expected_finish_at":null' "a finished batch has no expected finish"
batch=$(stop_batch $(echo "$all_ids" | tail -n 6))
r=$(api GET "/v1/batches/$batch"); expect_contains "$r" '"expected_finish_at":"20' "learned: an expected finish"
task=$(echo "$r" | grep -o '"request_id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
r=$(api GET "/v1/tasks/cvm/$task"); expect_contains "$r" '"expected_finish_at":"20' "and on its tasks"
pass "expected_finish_at appears once 20 StopInstances have completed"

"$ctl_bin" -s "$socket" wait "$batch" --timeout 60s --interval 500ms >"$work/wait.out" 2>"$work/wait.err" &
wait_pid=$!
bg_pids+=("$wait_pid")
sleep 1  # the wait has seen the batch and is long-polling
stop_daemon
sleep 0.7  # no daemon for a while: the socket is gone
start_daemon
wait_exit "$wait_pid" 40
((exit_rc == 0)) || fail "wait exited $exit_rc: $(cat "$work/wait.err")"
err=$(cat "$work/wait.err") out=$(cat "$work/wait.out")
expect_contains "$err" "taskpollerctl: lost the daemon (" "the loss is reported"
expect_contains "$err" "); reconnecting" "and the reconnection"
(($(grep -c 'lost the daemon' "$work/wait.err") == 1)) || fail "the loss reported more than once: $err"
expect_contains "$out" "batch $batch  done" "final table"
pass "wait reconnected across a daemon restart and exited 0"
