#!/usr/bin/env bash
# `taskpollerctl wait` in a real terminal 50 columns wide (tmux), against the real daemon and
# simulator: the progress line is redrawn in place on one line and never wraps, also after the
# window shrinks to 40 columns (the width is read at every redraw), and the final table follows.
# Skipped (exit 77) only when tmux is missing; scripts/bootstrap installs it.
# Usage: wait_tmux_e2e.sh DAEMON CTL SIM
if ! command -v tmux >/dev/null; then
    echo "SKIP: tmux is not installed (scripts/bootstrap installs it: apt-get install tmux)"
    exit 77
fi
source "$(dirname "$0")/lib.sh" "$@"
tmux_name="taskpoller-wait-$$"
tmux_() { tmux -L "$tmux_name" -f /dev/null "$@"; }
trap 'rc=$?; set +e; tmux_ kill-server 2>/dev/null; (exit $rc); cleanup' EXIT

# Each operation takes 3-5 s: long enough to watch the progress a few times.
start_sim 'instances: {running: 8, stopped: 0}' "operations: {default: {duration: {min: 3s, max: 5s}}}"
write_config
start_daemon
ids=$(curl -s "http://127.0.0.1:$sim_port/_sim/instances" | grep -o '"id":"ins-[0-9a-z]*"' | cut -d'"' -f4 | head -n 8)
json_ids=$(printf '"%s",' $ids); json_ids="[${json_ids%,}]"
r=$(api POST /v1/batches "{\"service\":\"cvm\",\"action\":\"StopInstances\",\"params\":{\"instanceIds\":$json_ids}}")
expect_contains "$r" "202 " "submit"
batch=$(echo "$r" | grep -o '"id":"b-[^"]*"' | head -n 1 | cut -d'"' -f4)

tmux_ new-session -d -s wait -x 50 -y 20 \
    "'$ctl_bin' -s '$socket' wait $batch --interval 200ms; echo \"[exit \$?]\"; sleep 60"

progress_re='[0-9]+/[0-9]+ entries finished'
# check_capture FILE COLUMNS RUNNING: every line of the pane (wrapped lines joined, so a wrap
# shows as a longer line) fits COLUMNS; while RUNNING, the pane holds nothing but the one
# progress line (no fragment of an older line above or below it).
check_capture() {
    local file=$1 cols=$2 running=$3 long n_progress n_other
    long=$(awk -v c="$cols" 'length($0) > c' "$file")
    [[ -z "$long" ]] || fail "a line wider than $cols columns in $(basename "$file"): $long"
    n_progress=$(grep -Ec "$progress_re" "$file" || true)
    ((n_progress == 1)) || fail "expected one progress line in $(basename "$file"), got $n_progress: $(cat "$file")"
    if [[ $running == 1 ]]; then
        n_other=$(grep -Ev "$progress_re" "$file" | grep -c '[^[:space:]]' || true)
        ((n_other == 0)) || fail "leftover text next to the progress line in $(basename "$file"): $(cat "$file")"
    fi
}

started=$(now_ms) shots=0 narrow_shots=0 cols=50
while :; do
    (($(now_ms) - started < 14000)) || fail "wait did not finish within 14 s: $(tmux_ capture-pane -p -J -t wait)"
    tmux_ capture-pane -p -J -t wait >"$work/pane"
    grep -q '^\[exit ' "$work/pane" && break
    if grep -Eq "$progress_re" "$work/pane"; then
        shots=$((shots + 1))
        cp "$work/pane" "$work/pane.$shots"
        check_capture "$work/pane.$shots" "$cols" 1
        ((cols == 40)) && narrow_shots=$((narrow_shots + 1))
        if ((shots == 3)); then  # a resize: the following redraws fit the narrower window
            tmux_ resize-window -t wait -x 40 -y 20
            sleep 0.5  # at least one redraw (every 200 ms) at the new width
            cols=40
        fi
    fi
    sleep 0.25
done
((shots >= 3)) || fail "only $shots captures showed the progress (expected several)"
((narrow_shots >= 1)) || fail "no capture after the resize to 40 columns showed the progress"
pass "$shots captures: one progress line, never wider than the window (50, then 40 columns)"

# The end: the final table; the whole pane, its scrollback included,
# holds one final progress line, drawn at the last width. (Narrowing the window made tmux keep
# the top half of the then current line in its scrollback: the terminal's own rewrap, above the
# first row, where no program output can reach; the visible pane had no fragment, as checked.)
final=$(cat "$work/pane")
expect_contains "$final" "[exit 0]" "wait exit status"
expect_contains "$final" "RESOURCE" "final table's entries"
tmux_ capture-pane -p -J -S - -t wait >"$work/history"
expect_contains "$(cat "$work/history")" "batch $batch  done" "final table"
(($(grep -c '8/8 entries finished' "$work/history") == 1)) || fail "not one final progress line: $(cat "$work/history")"
progress=$(grep '8/8 entries finished' "$work/history")
((${#progress} <= 39)) || fail "final progress line wider than the window: $progress"
pass "the final table follows one progress line; wait exited 0"
