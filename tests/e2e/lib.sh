# Shared by the e2e scripts: start the simulator and the daemon in a temporary directory, stop
# them on exit, and small assertion helpers. Usage: source lib.sh DAEMON CTL SIM
set -euo pipefail
daemon_bin=$1 ctl_bin=$2 sim_bin=$3
work=$(mktemp -d /tmp/taskpoller-e2e.XXXXXX)
sim_pid="" daemon_pid=""
cleanup() {
    local rc=$?
    [[ -n "$daemon_pid" ]] && kill -KILL "$daemon_pid" 2>/dev/null
    [[ -n "$sim_pid" ]] && kill -KILL "$sim_pid" 2>/dev/null
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

start_sim() {  # start_sim [yaml]
    local instances='instances: {running: 8, stopped: 2}'
    printf '%s\n' "${1:-$instances}" "operations: {default: {duration: {min: 300ms, max: 900ms}}}" \
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
control: {socket: $socket}
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
