#!/usr/bin/env bash
# `taskpollerctl wait` across a restart of the real daemon (issue 18): SIGTERM mid-wait, start it
# again on the same journal; the wait says once that it lost the daemon, reconnects, and exits 0
# when the batch is done.
# Usage: wait_restart_e2e.sh DAEMON CTL SIM
source "$(dirname "$0")/lib.sh" "$@"
start_sim 'instances: {running: 6, stopped: 0}' "operations: {default: {duration: {min: 3s, max: 4s}}}"
mkdir -p "$work/state"
write_config "store: {journal: $work/state/journal, durability: strict}"
start_daemon
ids=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*"' | cut -d'"' -f4 | head -n 6)
json_ids=$(printf '"%s",' $ids); json_ids="[${json_ids%,}]"
r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids}}")
expect_contains "$r" "202 " "submit"
batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)

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
