#!/usr/bin/env bash
# Graceful shutdown with requests in flight, against the real daemon (docs/systemd.md "Signals
# and stopping", docs/api.md "Shutdown"):
#   A. SIGTERM with two long-polls, an event stream, `taskpollerctl watch` and a half-sent POST in
#      flight and tasks still running: the socket file goes at once (new connections fail) while
#      the daemon drains; every client gets a complete HTTP response (long-polls: 200 with what
#      they have; streams: a final shutting_down line and a clean end; the POST: 503
#      shutting_down); STOPPING=1; exit 0 well within the 10 s grace period.
#   B. A client that never finishes its request: after the grace period its connection is cut
#      and the daemon still exits 0.
#   C. A second SIGTERM during the grace period: immediate exit with status 143 (128 + 15).
# Usage: shutdown_e2e.sh DAEMON CTL SIM NOTIFY_SINK
source "$(dirname "$0")/lib.sh" "$@"
grace_ms=10000  # daemon/app.cpp shutdown_grace

# Tasks run for minutes: whatever is tracked is still running when the daemon stops.
start_sim "" "operations: {default: {duration: {min: 3m, max: 4m}}}"
# The stuck request of B must outlive the grace period: its own request_timeout (10 s by
# default, counted from its first byte, before the SIGTERM) would otherwise end it first.
control_extra=", request_timeout: 30s"
write_config
start_notify_sink

# in_background NAME PATH [curl args...]: a request in the background, its standard input from
# $stdin_from (default /dev/null); writes NAME.code, NAME.hdr, NAME.body, and last NAME.rc
# (curl's exit status) and NAME.end (when, in ms).
in_background() {
    local name=$1 path=$2 input=${stdin_from:-/dev/null}; shift 2
    {
        set +e
        curl -s -m 60 -o "$work/$name.body" -D "$work/$name.hdr" -w '%{http_code}' \
            --unix-socket "$socket" "$@" "http://localhost$path" >"$work/$name.code" <"$input"
        echo $? >"$work/$name.rc.tmp"
        now_ms >"$work/$name.end"
        mv "$work/$name.rc.tmp" "$work/$name.rc"
    } &
    bg_pids+=($!)
}
# start_upload NAME: POST /v1/batches whose headers are sent now and whose chunked body comes
# from fd 7 (write it, then close fd 7 to finish the request).
start_upload() {
    rm -f "$work/upload.fifo"; mkfifo "$work/upload.fifo"
    # Opening a FIFO blocks until the other end opens: the reader opens in the background job.
    stdin_from=$work/upload.fifo in_background "$1" /v1/batches -X POST \
        -H 'Content-Type: application/json' -H 'Expect:' -T -
    exec 7>"$work/upload.fifo"
}
metric() { api GET /metrics | grep -E "^$1 " | awk '{print $2}'; }
# wait_for_connections N: until the daemon has N open connections (the /metrics one included),
# then a little longer so that the last client's request headers have surely been read.
wait_for_connections() {
    for _ in $(seq 200); do [[ $(metric taskpoller_control_connections) == "$1" ]] && break; sleep 0.05; done
    [[ $(metric taskpoller_control_connections) == "$1" ]] || fail "expected $1 connections, metrics say $(metric taskpoller_control_connections)"
    sleep 0.5
}
alive() { kill -0 "$daemon_pid" 2>/dev/null && [[ $(cut -d' ' -f3 "/proc/$daemon_pid/stat") != Z ]]; }
wait_for_file() {  # wait_for_file PATH SECONDS
    local deadline=$(($(now_ms) + $2 * 1000))
    until [[ -e "$1" ]]; do (($(now_ms) < deadline)) || fail "$(basename "$1") not written after $2 s"; sleep 0.05; done
}
header() { grep -i "^$2:" "$work/$1.hdr" | tr -d '\r' | cut -d' ' -f2- | tr 'A-Z' 'a-z'; }

# ---- A. Requests in flight at SIGTERM.
start_daemon
wait_for_line "$work/notify.log" '^READY=1' 20
running=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*",[^}]*"status":2' |
    grep -o 'ins-[0-9a-z]*' | head -n 3)
json_ids=$(printf '"%s",' $running); json_ids="[${json_ids%,}]"
r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids}}")
expect_contains "$r" "202 " "submit"
batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)
rid=$(api GET "/v1/tasks?batch=$batch" | grep -o '"request_id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
[[ -n "$batch" && -n "$rid" ]] || fail "no batch or task in the submission: $r"

in_background batch_wait "/v1/batches/$batch?wait=5m"
in_background task_wait "/v1/tasks/cvm/$rid?wait=5m"
in_background events "/v1/events?since=0" -N
{ set +e; "$ctl_bin" watch --since 0 --json >"$work/watch.out" 2>&1; echo $? >"$work/watch.rc"; } &
bg_pids+=($!)
start_upload post
wait_for_connections 6  # 2 long-polls, 2 streams, the upload, this /metrics request
[[ $(metric taskpoller_control_waiters) == 4 ]] || fail "expected 4 waiters, metrics say $(metric taskpoller_control_waiters)"
for f in batch_wait task_wait events post; do [[ ! -e "$work/$f.rc" ]] || fail "$f ended before the signal"; done
[[ ! -e "$work/watch.rc" ]] || fail "taskpollerctl watch ended before the signal: $(cat "$work/watch.out")"
pass "in flight: 2 long-polls, 2 event streams, a half-sent POST; tasks still running"

t0=$(now_ms)
kill -TERM "$daemon_pid"
for _ in $(seq 100); do [[ -e "$socket" ]] || break; sleep 0.05; done
[[ ! -e "$socket" ]] || fail "socket file still there 5 s after SIGTERM"
alive || fail "daemon exited while a request was still being sent"
set +e; curl -s -m 10 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1; rc=$?; set -e
((rc == 7)) || fail "a new connection after SIGTERM should fail to connect (curl 7), got curl $rc"
set +e; "$ctl_bin" ping >/dev/null 2>&1; rc=$?; set -e
((rc == 3)) || fail "taskpollerctl ping after SIGTERM exited $rc, expected 3 (cannot connect)"
pass "SIGTERM: socket file removed at once, new connections fail, daemon still draining"

for f in batch_wait task_wait events; do wait_for_file "$work/$f.rc" 20; done
wait_for_file "$work/watch.rc" 20
alive || fail "daemon exited before the half-sent POST was finished"
for f in batch_wait task_wait; do
    (($(cat "$work/$f.rc") == 0)) || fail "$f: curl exited $(cat "$work/$f.rc") (no complete response)"
    [[ $(cat "$work/$f.code") == 200 ]] || fail "$f: HTTP $(cat "$work/$f.code")"
    [[ $(header "$f" Connection) == close ]] || fail "$f: no 'Connection: close' in $(cat "$work/$f.hdr")"
done
b=$(cat "$work/batch_wait.body")
expect_contains "$b" "\"id\":\"$batch\"" "batch long-poll body"
expect_contains "$b" '"state":"submitted"' "batch long-poll answered with the live batch"
t=$(cat "$work/task_wait.body")
expect_contains "$t" "\"request_id\":\"$rid\"" "task long-poll body"
[[ "$t" =~ \"state\":\"(pending|running)\" ]] || fail "task long-poll: expected a live task, got ${t:0:300}"
pass "long-polls answered at once with what they had: 200, complete, Connection: close"

(($(cat "$work/events.rc") == 0)) || fail "events: curl exited $(cat "$work/events.rc"): stream not ended cleanly"
[[ $(cat "$work/events.code") == 200 ]] || fail "events: HTTP $(cat "$work/events.code")"
[[ $(header events Transfer-Encoding) == chunked ]] || fail "events: not chunked"
expect_contains "$(head -n 1 "$work/events.body")" '"seq":1' "first event"
expect_contains "$(tail -n 1 "$work/events.body")" '"code":"shutting_down"' "last event line"
# taskpollerctl watch: a shutdown is a clean end (exit 0, docs/ctl.md), with the resume point.
rc=$(cat "$work/watch.rc")
((rc == 0)) || fail "taskpollerctl watch exited $rc: $(tail -n 3 "$work/watch.out")"
expect_contains "$(tail -n 1 "$work/watch.out")" "the daemon ended the stream: the daemon is shutting down (shutting_down); resume with --since" "taskpollerctl watch"
pass "event streams ended with a shutting_down line and a clean end; taskpollerctl watch said so (exit $rc)"

printf '{"service":"cvm","action":"StartInstances","params":{"instanceIds":["ins-x"]}}' >&7
exec 7>&-
wait_for_file "$work/post.rc" 20
(($(cat "$work/post.rc") == 0)) || fail "post: curl exited $(cat "$work/post.rc")"
[[ $(cat "$work/post.code") == 503 ]] || fail "post: HTTP $(cat "$work/post.code"), expected 503"
expect_contains "$(cat "$work/post.body")" '"shutting_down"' "post body"
[[ $(header post Connection) == close ]] || fail "post: no 'Connection: close'"
pass "the half-sent POST, finished during the drain, got a complete 503 shutting_down"

wait_exit "$daemon_pid" 20; daemon_pid=""
took=$(($(now_ms) - t0))
((exit_rc == 0)) || fail "daemon exited $exit_rc after SIGTERM"
((took < grace_ms)) || fail "daemon took $took ms to exit, beyond the $grace_ms ms grace period"
log=$(cat "$work/daemon.log")
expect_not_contains "$log" "grace period over" "daemon log (nothing had to be cut off)"
grep -Eq 'info +stopped$' "$work/daemon.log" || fail "daemon log: no final 'stopped' line"
grep -n . "$work/notify.log" | grep -q 'STOPPING=1' || fail "no STOPPING=1 datagram"
[[ $(grep -n '^READY=1' "$work/notify.log" | head -n 1 | cut -d: -f1) -lt $(grep -n '^STOPPING=1' "$work/notify.log" | cut -d: -f1) ]] ||
    fail "STOPPING=1 not after READY=1: $(cat "$work/notify.log")"
[[ ! -e "$socket" ]] || fail "socket file left behind"
pass "exit 0 after $took ms (grace $grace_ms ms), STOPPING=1 sent, socket removed"

# ---- B. A request that never completes: cut off when the grace period ends; exit 0.
: >"$work/daemon.log"
start_daemon
start_upload stuck
wait_for_connections 2
t0=$(now_ms)
kill -TERM "$daemon_pid"
sleep 2
alive || fail "daemon exited although a request was in progress and the grace period not over"
wait_exit "$daemon_pid" 30; daemon_pid=""
took=$(($(now_ms) - t0))
((exit_rc == 0)) || fail "daemon exited $exit_rc after the grace period, expected 0"
((took >= grace_ms - 500 && took < grace_ms + 8000)) || fail "exit after $took ms, expected about $grace_ms ms"
expect_contains "$(cat "$work/daemon.log")" "shutdown grace period over; cancelling 1 connection(s)" "daemon log"
exec 7>&-
wait_for_file "$work/stuck.rc" 20
(($(cat "$work/stuck.rc") != 0)) || fail "the stuck request completed normally: $(cat "$work/stuck.code")"
pass "a stuck client is cut off after the grace period ($took ms) and the daemon exits 0"

# ---- C. A second SIGTERM during the grace period exits at once with 128 + 15.
: >"$work/daemon.log"
start_daemon
start_upload held
wait_for_connections 2
kill -TERM "$daemon_pid"
for _ in $(seq 100); do [[ -e "$socket" ]] || break; sleep 0.05; done
[[ ! -e "$socket" ]] || fail "shutdown did not begin"
alive || fail "daemon exited before the second signal"
t0=$(now_ms)
kill -TERM "$daemon_pid"
wait_exit "$daemon_pid" 5; daemon_pid=""
took=$(($(now_ms) - t0))
((exit_rc == 143)) || fail "second SIGTERM: exit $exit_rc, expected 143"
expect_contains "$(cat "$work/daemon.log")" "SIGTERM again: exiting immediately" "daemon log"
exec 7>&-
wait_for_file "$work/held.rc" 20
(($(cat "$work/held.rc") != 0)) || fail "the held request completed normally: $(cat "$work/held.code")"
pass "second SIGTERM during the grace period: exit 143 after $took ms"
