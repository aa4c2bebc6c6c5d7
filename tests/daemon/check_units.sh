#!/bin/bash
# Checks the systemd/ units the way an installer would meet them:
#   verify     systemd-analyze verify prints nothing and succeeds, for the plain units and for an
#              instance of each template. verify insists that ExecStart=/ExecReload= binaries
#              exist, so the units are copied to a temporary directory with /usr/bin/taskpollerd
#              and /usr/bin/taskpollerctl rewritten to the built binaries (or, while those are not
#              built in this tree, to an existing stand-in executable; only executability is
#              checked). Man pages are not checked (--man=no): they are installed by packaging.
#   security   systemd-analyze security --offline=yes rates each service's exposure <= MAX
#              (the number is parsed from the report), and a copy stripped of its sandboxing
#              rates above MAX, proving the check can fail.
#   sysusers   systemd-sysusers in a temporary root creates the taskpoller user and group.
#   contract   the directives the daemon's behaviour relies on are present (verify and security
#              would not notice Type=notify or FileDescriptorName=control going missing), and
#              postgresql.service is in After= but in no Requires=/Wants=.
#   tmpfiles   systemd-tmpfiles --create in that root makes the directories with the listed
#              owners (resolved in that root) and modes.
# Usage: check_units.sh SYSTEMD_DIR TASKPOLLERD_BIN TASKPOLLERCTL_BIN [MAX_EXPOSURE]
set -u
src=$1 daemon_bin=$2 ctl_bin=$3 max=${4:-2.0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

units="$work/units"
mkdir -p "$units"
for f in "$src"/*.service "$src"/*.socket; do
    sed -e "s#/usr/bin/taskpollerd #$daemon_bin #" -e "s#/usr/bin/taskpollerctl #$ctl_bin #" \
        "$f" >"$units/$(basename "$f")"
done

# Template instances are verified by name; systemd loads the template from the same directory.
for u in taskpollerd.service taskpollerd.socket taskpollerd@acct1.service taskpollerd@acct1.socket; do
    out=$(cd "$units" && systemd-analyze verify --man=no "./$u" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || [ -n "$out" ]; then fail "verify $u (rc=$rc): $out"; else pass "verify $u"; fi
done

exposure() {  # prints the overall exposure of unit $2 in directory $1
    (cd "$1" && systemd-analyze security --offline=yes --no-pager "./$2" 2>/dev/null) |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p'
}
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

for u in taskpollerd.service taskpollerd@acct1.service; do
    e=$(exposure "$units" "$u")
    if [ -z "$e" ]; then fail "security $u: no exposure figure in the report"
    elif above "$e" "$max"; then fail "security $u: exposure $e > $max"
    else pass "security $u: exposure $e <= $max"; fi
done

weak="$work/weak"
mkdir -p "$weak"
sed -n '1,/^# Sandbox/p' "$units/taskpollerd.service" | grep -v '^# Sandbox' >"$weak/taskpollerd.service"
printf '\n[Install]\nWantedBy=multi-user.target\n' >>"$weak/taskpollerd.service"
cp "$units/taskpollerd.socket" "$weak/"
e=$(exposure "$weak" taskpollerd.service)
if [ -n "$e" ] && above "$e" "$max"; then pass "security without sandbox: exposure $e > $max"
else fail "security without sandbox: expected exposure > $max, got '${e}'"; fi

has() {  # unit, exact line
    if grep -qxF -- "$2" "$src/$1"; then pass "contract $1: $2"; else fail "contract $1: missing '$2'"; fi
}
for u in taskpollerd.service taskpollerd@.service; do
    for line in Type=notify NotifyAccess=main WatchdogSec=30s Restart=on-failure User=taskpoller \
        ProtectSystem=strict NoNewPrivileges=yes RuntimeDirectory=taskpoller \
        RuntimeDirectoryPreserve=yes "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
        SystemCallFilter=@system-service CapabilityBoundingSet=; do
        has "$u" "$line"
    done
done
# store.backend postgres (docs/ha.md): a local database is ordered before the daemon, never
# pulled in (a journal-backend host without PostgreSQL must be unaffected).
for u in taskpollerd.service taskpollerd@.service; do
    if grep -E '^After=' "$src/$u" | grep -qw 'postgresql\.service'; then
        pass "contract $u: After= postgresql.service"
    else
        fail "contract $u: postgresql.service missing from After="
    fi
    if grep -E '^(Requires|Wants|BindsTo|Requisite|Upholds)=' "$src/$u" | grep -q postgresql; then
        fail "contract $u: postgresql is pulled in, not only ordered"
    else
        pass "contract $u: postgresql.service only ordered"
    fi
done
has taskpollerd.service "ExecStart=/usr/bin/taskpollerd --config /etc/taskpoller/taskpoller.yaml"
has taskpollerd.service "ExecReload=/usr/bin/taskpollerctl -s /run/taskpoller/taskpoller.sock reload"
has taskpollerd.service "LoadCredential=secret_id:/etc/taskpoller/secret_id"
has taskpollerd.service "LoadCredential=secret_key:/etc/taskpoller/secret_key"
has taskpollerd@.service "ExecStart=/usr/bin/taskpollerd --config /etc/taskpoller/%i.yaml"
has taskpollerd@.service "StateDirectory=taskpoller/%i"
has taskpollerd@.service "ExecReload=/usr/bin/taskpollerctl -s /run/taskpoller/%i.sock reload"
for u in taskpollerd.socket taskpollerd@.socket; do
    for line in FileDescriptorName=control SocketMode=0660 SocketGroup=taskpoller; do has "$u" "$line"; done
done
has taskpollerd.socket "ListenStream=/run/taskpoller/taskpoller.sock"
has taskpollerd@.socket "ListenStream=/run/taskpoller/%i.sock"

root="$work/root"
mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
cp "$src/taskpoller.sysusers.conf" "$root/usr/lib/sysusers.d/taskpoller.conf"
cp "$src/taskpoller.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/taskpoller.conf"
out=$(systemd-sysusers --root="$root" 2>&1) || fail "sysusers: $out"
uid=$(awk -F: '$1 == "taskpoller" { print $3 }' "$root/etc/passwd" 2>/dev/null)
gid=$(awk -F: '$1 == "taskpoller" { print $3 }' "$root/etc/group" 2>/dev/null)
if [ -n "$uid" ] && [ -n "$gid" ]; then pass "sysusers: taskpoller uid=$uid gid=$gid"
else fail "sysusers: no taskpoller user/group in $root/etc"; fi

out=$(systemd-tmpfiles --root="$root" --create 2>&1) || fail "tmpfiles: $out"
check_dir() {  # path mode uid gid
    got=$(stat -c '%a %u %g' "$root$1" 2>/dev/null)
    if [ "$got" = "$2 $3 $4" ]; then pass "tmpfiles $1: $got"; else fail "tmpfiles $1: got '$got', want '$2 $3 $4'"; fi
}
check_dir /etc/taskpoller 750 0 "$gid"
check_dir /var/lib/taskpoller 750 "$uid" "$gid"
check_dir /run/taskpoller 755 "$uid" "$gid"

if [ $failures -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all unit checks passed"
