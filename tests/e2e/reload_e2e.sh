#!/usr/bin/env bash
# Configuration reload: SIGHUP and POST /v1/reload share one path; a bad file keeps the old
# configuration and reports every error; a good one is applied.
source "$(dirname "$0")/lib.sh" "$@"
start_sim
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

# Restart-only setting changed: applied later, named in the log.
write_config "rate_limit: {default: 15}
store: {max_finished: 5000}"
sed -i "s|socket: $socket|socket: $work/other.sock|" "$work/taskpoller.yaml"
r=$(api POST /v1/reload); expect_contains "$r" "control.socket" "restart-required key listed"
pass "settings that need a restart are named"
stop_daemon
