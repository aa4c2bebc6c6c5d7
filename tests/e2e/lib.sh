# Shared by the e2e scripts: start the simulator and the daemon in a temporary directory, stop
# them on exit, and small assertion helpers. Usage: source lib.sh DAEMON CTL SIM [NOTIFY_SINK]
set -euo pipefail
daemon_bin=$1 ctl_bin=$2 sim_bin=$3 notify_sink_bin=${4:-}
work=$(mktemp -d /tmp/taskpoller-e2e.XXXXXX)
sim_pid="" daemon_pid=""
bg_pids=()  # anything else started in the background (clients, the notify sink): killed on exit
cleanup() {
    local rc=$? p
    [[ -n "$daemon_pid" ]] && kill -KILL "$daemon_pid" 2>/dev/null
    [[ -n "$sim_pid" ]] && kill -KILL "$sim_pid" 2>/dev/null
    for p in "${bg_pids[@]}"; do  # a background job's own children first (curl in a { } &)
        kill -KILL $(cat "/proc/$p/task/$p/children" 2>/dev/null) "$p" 2>/dev/null || true
    done
    if ((rc != 0)) && [[ -f "$work/daemon.log" ]]; then
        echo "---- daemon log (last 40 lines)"; tail -n 40 "$work/daemon.log"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
expect_contains() { [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got: ${1:0:600}"; }
expect_not_contains() { [[ "$1" != *"$2"* ]] || fail "$3: must not contain '$2'"; }

export TASKPOLLER_SECRET_ID=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA
export TASKPOLLER_SECRET_KEY=Gu5t9xGARNpq86cd98joQYCN3Cozk1qA
secret_key=$TASKPOLLER_SECRET_KEY
socket=$work/taskpoller.sock
export TASKPOLLER_SOCKET=$socket

start_sim() {  # start_sim [instances yaml] [operations yaml]
    # Defaults in variables: a literal '}' would end the ${N:-...} expansion early.
    local instances='instances: {running: 8, stopped: 2}'
    local operations='operations: {default: {duration: {min: 300ms, max: 900ms}}}'
    printf '%s\n' "${1:-$instances}" "${2:-$operations}" \
        "stale_window: 200ms" "seed: 3" >"$work/sim.yaml"
    "$sim_bin" --listen 127.0.0.1:0 --port-file "$work/sim.port" --config "$work/sim.yaml" \
        --log-level warn >/dev/null &
    sim_pid=$!
    for _ in $(seq 100); do [[ -s "$work/sim.port" ]] && break; sleep 0.1; done
    [[ -s "$work/sim.port" ]] || fail "simulator did not start"
    sim_port=$(cat "$work/sim.port")
}

write_config() {  # write_config [extra yaml lines]
    cat >"$work/taskpoller.yaml" <<YAML
cloud:
  region: ap-guangzhou
  scheme: http
  connect_to: "127.0.0.1:$sim_port"
polling: {initial_delay: 200ms, interval: 200ms, max_interval: 1s, timeout: 2m, settle_delay: 1s}
control: {socket: $socket${control_extra:-}}
logging: {level: debug}
${1:-}
YAML
}

start_daemon() {
    "$daemon_bin" --config "$work/taskpoller.yaml" 2>>"$work/daemon.log" &
    daemon_pid=$!
    for _ in $(seq 150); do
        curl -s --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1 && return 0
        kill -0 "$daemon_pid" 2>/dev/null || fail "daemon exited at start-up: $(tail -n 5 "$work/daemon.log")"
        sleep 0.1
    done
    fail "daemon did not answer /_ping"
}

api() {  # api METHOD PATH [JSON] -> prints "HTTP_STATUS BODY"
    local args=(-s -o "$work/body" -w '%{http_code}' --unix-socket "$socket" -X "$1")
    [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data "$3")
    local code
    code=$(curl "${args[@]}" "http://localhost$2")
    echo "$code $(cat "$work/body")"
}

stop_daemon() {  # graceful; asserts exit status 0
    kill -TERM "$daemon_pid"
    local rc=0
    wait "$daemon_pid" || rc=$?
    daemon_pid=""
    ((rc == 0)) || fail "daemon exited $rc after SIGTERM"
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $((10#$t / 1000)); }

# wait_exit PID SECONDS: waits up to SECONDS for the child PID (of this shell) to end and sets
# exit_rc to its exit status; fails the test if it is still running then. Not in $(...): a
# subshell cannot wait for its parent's children.
wait_exit() {
    local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
    exit_rc=0
    while kill -0 "$pid" 2>/dev/null && [[ $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
        (($(now_ms) < deadline)) || fail "process $pid still running after $2 s"
        sleep 0.05
    done
    wait "$pid" || exit_rc=$?
}

# start_notify_sink: a datagram socket standing in for systemd's; exports NOTIFY_SOCKET. Each
# datagram becomes one line of $work/notify.log (newlines inside shown as '|').
start_notify_sink() {
    [[ -x "$notify_sink_bin" ]] || fail "notify_sink binary not given"
    "$notify_sink_bin" "$work/notify.sock" "$work/notify.log" &
    bg_pids+=($!)
    for _ in $(seq 100); do [[ -S "$work/notify.sock" ]] && break; sleep 0.05; done
    [[ -S "$work/notify.sock" ]] || fail "notify sink did not start"
    export NOTIFY_SOCKET=$work/notify.sock
}

# wait_for_line FILE PATTERN SECONDS: until a line of FILE matches the extended regex PATTERN.
wait_for_line() {
    local deadline=$(($(now_ms) + $3 * 1000))
    until grep -Eq -- "$2" "$1" 2>/dev/null; do
        (($(now_ms) < deadline)) || fail "no line matching '$2' in $(basename "$1") after $3 s"
        sleep 0.05
    done
}
