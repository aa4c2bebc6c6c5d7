#!/usr/bin/env bash
# Socket activation with the real daemon under systemd-socket-activate (systemd 252): the daemon
# serves the control API on the inherited socket without binding one itself, tracks a real batch,
# tells the notify socket READY=1/STOPPING=1, exits 0 on SIGTERM and leaves the socket (not its
# own) alone; descriptor names are handled as daemon/activation.hpp documents.
# Usage: activation_e2e.sh DAEMON CTL SIM NOTIFY_SINK
source "$(dirname "$0")/lib.sh" "$@"
command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate not installed (scripts/bootstrap installs it)"

start_sim
write_config
# The configured path must stay unused: under activation the daemon binds nothing.
configured=$work/configured.sock
sed -i "s|socket: $socket|socket: $configured|" "$work/taskpoller.yaml"
start_notify_sink

# activate LISTEN_ARGS... -- starts the daemon under systemd-socket-activate (which execs it in
# place on the first connection, so $daemon_pid becomes the daemon) and waits for every socket.
activate() {
    local args=() paths=()
    while [[ $1 != -- ]]; do
        [[ $1 == -l ]] && paths+=("$2")
        args+=("$1"); shift
    done
    shift
    # systemd-socket-activate passes only PATH, TERM, HOME, USER and -E variables on (an unset
    # one as empty), so the sanitizer settings of the ASan run must be named too.
    systemd-socket-activate "${args[@]}" -E TASKPOLLER_SECRET_ID -E TASKPOLLER_SECRET_KEY \
        -E NOTIFY_SOCKET -E ASAN_OPTIONS -E UBSAN_OPTIONS "$daemon_bin" --config "$work/taskpoller.yaml" >>"$work/daemon.log" 2>&1 &
    daemon_pid=$!
    local p
    for p in "${paths[@]}"; do
        for _ in $(seq 100); do [[ -S "$p" ]] && break; sleep 0.05; done
        [[ -S "$p" ]] || fail "systemd-socket-activate did not create $p"
    done
}

# ---- 1. --fdname=control: the normal case, as taskpollerd.socket passes it.
activate -l "$socket" --fdname=control --
inode_before=$(stat -c %i "$socket")
log_mark=$(wc -l <"$work/daemon.log")
# The first connection makes systemd-socket-activate exec the daemon; it waits in the backlog
# until the daemon accepts it.
r=$(curl -s -m 60 --unix-socket "$socket" http://localhost/_ping) || fail "first connection got no answer"
[[ "$r" == OK* ]] || fail "_ping answered '$r'"
[[ $(readlink "/proc/$daemon_pid/exe") == "$(readlink -f "$daemon_bin")" ]] ||
    fail "pid $daemon_pid is not taskpollerd (exe $(readlink "/proc/$daemon_pid/exe"))"
pass "the first connection started the daemon in place (pid $daemon_pid) and was answered"

log=$(tail -n +"$((log_mark + 1))" "$work/daemon.log")
expect_contains "$log" "serving on the socket-activated descriptor" "daemon log"
expect_contains "$log" "control: listening on an inherited socket" "server log"
[[ $(stat -c %i "$socket") == "$inode_before" ]] || fail "socket inode changed: the daemon re-bound it"
[[ ! -e "$configured" ]] || fail "the daemon created its configured socket $configured"
wait_for_line "$work/notify.log" '^READY=1' 20
pass "served on the inherited descriptor: same inode, configured path unused, READY=1 sent"

r=$(api GET /v1/status); expect_contains "$r" "200 " "status"; expect_contains "$r" '"version"' "status body"
running=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*",[^}]*"status":2' |
    grep -o 'ins-[0-9a-z]*' | head -n 3)
(($(echo "$running" | wc -l) == 3)) || fail "simulator has fewer than 3 running instances"
json_ids=$(printf '"%s",' $running); json_ids="[${json_ids%,}]"
r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids}}")
expect_contains "$r" "202 " "submit"
batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)
[[ -n "$batch" ]] || fail "no batch id in $r"
set +e; "$ctl_bin" wait "$batch" --timeout 90s >"$work/wait.out" 2>&1; rc=$?; set -e
((rc == 0)) || fail "taskpollerctl wait exited $rc: $(tail -n 5 "$work/wait.out")"
r=$(api GET "/v1/batches/$batch"); expect_contains "$r" '"state":"done"' "batch done"
expect_contains "$r" '"succeeded":3' "three tasks succeeded"
truth=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances")
for id in $running; do
    echo "$truth" | grep -q "\"id\":\"$id\",[^}]*\"status\":4" || fail "$id is not stopped in the simulator"
done
pass "POST /v1/batches through the activated socket tracked to the end by taskpollerctl wait"

kill -TERM "$daemon_pid"
wait_exit "$daemon_pid" 30; daemon_pid=""
((exit_rc == 0)) || fail "daemon exited $exit_rc after SIGTERM"
wait_for_line "$work/notify.log" '^STOPPING=1' 5
# The socket belongs to whoever activated the daemon (systemd): the daemon must not remove it.
[[ -S "$socket" && $(stat -c %i "$socket") == "$inode_before" ]] || fail "the daemon removed the activated socket"
set +e; curl -s -m 10 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1; rc=$?; set -e
((rc == 7)) || fail "after exit a connection should be refused (curl 7), got curl $rc"
pass "SIGTERM: exit 0, STOPPING=1, activated socket left in place, nobody listening any more"
rm -f "$socket"

# ---- 2. One descriptor with another name: taken anyway ("the only one whatever its name").
activate -l "$socket" --fdname=other --
r=$(curl -s -m 60 --unix-socket "$socket" http://localhost/_ping) || fail "no answer with --fdname=other"
[[ "$r" == OK* ]] || fail "_ping answered '$r' with --fdname=other"
expect_contains "$(api GET /v1/status)" "200 " "status with --fdname=other"
[[ ! -e "$configured" ]] || fail "the daemon created its configured socket $configured"
stop_daemon
pass "a single descriptor named 'other' is used as the control socket"
rm -f "$socket"

# ---- 3. Two descriptors, one named control: that one is served, the other is closed.
activate -l "$work/metrics.sock" -l "$socket" --fdname=metrics:control --
r=$(curl -s -m 60 --unix-socket "$socket" http://localhost/_ping) || fail "no answer on the control socket"
[[ "$r" == OK* ]] || fail "_ping answered '$r' on the control socket"
set +e; curl -s -m 10 --unix-socket "$work/metrics.sock" http://localhost/_ping >/dev/null 2>&1; rc=$?; set -e
((rc == 7)) || fail "the descriptor not named control should be closed (curl 7), got curl $rc"
stop_daemon
pass "of two descriptors the one named control is served and the other closed"
rm -f "$socket" "$work/metrics.sock"

# ---- 4. Two descriptors, neither named control: a start-up error naming the problem, exit 1.
log_mark=$(wc -l <"$work/daemon.log")
activate -l "$work/a.sock" -l "$work/b.sock" --fdname=a:b --
set +e; curl -s -m 30 --unix-socket "$work/a.sock" http://localhost/_ping >/dev/null 2>&1; rc=$?; set -e
((rc != 0)) || fail "a request was answered although the daemon must refuse to start"
wait_exit "$daemon_pid" 30; daemon_pid=""
((exit_rc == 1)) || fail "daemon exited $exit_rc with two unnamed descriptors, expected 1"
log=$(tail -n +"$((log_mark + 1))" "$work/daemon.log")
expect_contains "$log" '2 descriptors passed and none is named "control"' "start-up error"
expect_contains "$log" "FileDescriptorName=control" "start-up hint"
pass "two descriptors, none named control: exit 1 with a clear message"
