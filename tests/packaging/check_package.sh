#!/bin/bash
# Packaging checks (issue 6), run by ctest from tests/packaging/CMakeLists.txt.
#   check_package.sh install|deb|lintian|prefix|man SRC BUILD PREFIX SYSCONFDIR VERSION CTL_BIN [DAEMON_BIN [SIM_BIN]]
# install: DESTDIR install of the build tree; every expected file, nothing else, right modes.
# deb:     cpack -G DEB into a temp dir; metadata, Depends, conffiles, maintainer scripts, contents;
#          the extracted binaries run (--help, --check-config on the shipped example config).
#          Leaves the package in BUILD/packaging/ for lintian (a ctest fixture).
# lintian: lintian on the package deb left in BUILD/packaging/; any error or warning fails, and so
#          does an override that no longer matches a tag.
# prefix:  a fresh configure with -DCMAKE_INSTALL_PREFIX=/opt/tp: units point at /opt/tp/bin and
#          /etc/opt/tp/taskpoller; a fresh default configure gets prefix /usr.
# man:     every man page renders without groff warnings; taskpollerd(8) names every option and
#          taskpoller.yaml(5) every key of docs/configuration.md.
# DAEMON_BIN is "none" while the taskpollerd target does not exist: its checks are then left out
# here and ctest shows a separate skipped test instead. SIM_BIN is set when taskpoller-sim is
# installed too (-DTASKPOLLER_INSTALL_SIM=ON).
set -euo pipefail

mode=$1 src=$2 build=$3 prefix=$4 sysconfdir=$5 version=$6 ctl_bin=$7 daemon_bin=${8:-} sim_bin=${9:-}
# "none" stands for an absent binary (ctest drops empty arguments).
[[ $daemon_bin == none ]] && daemon_bin=""
[[ $sim_bin == none ]] && sim_bin=""
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tp-pkg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

[[ -x $ctl_bin ]] || { echo "taskpollerctl is not built ($ctl_bin): build first"; exit 1; }
if [[ -n $daemon_bin && ! -x $daemon_bin ]]; then
    echo "taskpollerd is not built ($daemon_bin): build first"; exit 1
fi
[[ $prefix == /usr ]] || echo "note: build configured with prefix $prefix (packages expect /usr)"

# expected_files: "mode path" lines relative to the root, for this build's prefix. With flavor=deb,
# what the package adds to an install (cmake/debian/prebuild.cmake): man pages gzipped, copyright,
# changelog.gz, lintian overrides.
flavor=install
expected_files() {
    local p=${prefix#/} etc=${sysconfdir#/} f
    echo "755 $p/bin/taskpollerctl"
    [[ -n $daemon_bin ]] && echo "755 $p/bin/taskpollerd"
    [[ -n $sim_bin ]] && echo "755 $p/bin/taskpoller-sim"
    for f in taskpollerd.service taskpollerd.socket taskpollerd@.service taskpollerd@.socket; do
        echo "644 $p/lib/systemd/system/$f"
    done
    echo "644 $p/lib/sysusers.d/taskpoller.conf"
    echo "644 $p/lib/tmpfiles.d/taskpoller.conf"
    echo "644 $etc/taskpoller/taskpoller.yaml"
    echo "644 $p/share/doc/taskpoller/README.md"
    echo "644 $p/share/bash-completion/completions/taskpollerctl"
    echo "644 $p/share/zsh/vendor-completions/_taskpollerctl"
    echo "644 $p/share/fish/vendor_completions.d/taskpollerctl.fish"
    for f in "$src"/docs/*.md; do echo "644 $p/share/doc/taskpoller/$(basename "$f")"; done
    for f in "$src"/docs/man/*.[1-8]; do
        if [[ $flavor == deb ]]; then
            echo "644 $p/share/man/man${f##*.}/$(basename "$f").gz"
        else
            echo "644 $p/share/man/man${f##*.}/$(basename "$f")"
        fi
    done
    if [[ $flavor == deb ]]; then
        echo "644 $p/share/doc/taskpoller/copyright"
        echo "644 $p/share/doc/taskpoller/changelog.gz"
        echo "644 $p/share/lintian/overrides/taskpoller"
    fi
}

# check_tree ROOT: the files under ROOT are exactly the expected ones, with the expected modes.
check_tree() {
    local root=$1 mode path
    expected_files | sort -k2 >"$tmp/expected"
    (cd "$root" && find . -type f -printf '%m %P\n' | sort -k2) >"$tmp/actual"
    if diff -u "$tmp/expected" "$tmp/actual"; then
        ok "installed files and modes ($(wc -l <"$tmp/actual") files)"
    else
        fail "installed files differ from the expected list (- expected, + actual)"
    fi
    # Units must start the binaries this tree installs.
    while read -r path; do
        [[ -x $root$path ]] || fail "a unit names $path, which is not installed executable"
    done < <(sed -n 's/^Exec\(Start\|Reload\)=\([^ ]*\).*/\2/p' "$root/${prefix#/}"/lib/systemd/system/*.service | sort -u |
             { if [[ -n $daemon_bin ]]; then cat; else grep -v '/taskpollerd$'; fi; })
    ok "ExecStart/ExecReload binaries are installed"
    if [[ $prefix == /usr ]]; then
        local u
        for u in taskpollerd.service taskpollerd.socket taskpollerd@.service taskpollerd@.socket; do
            cmp -s "$src/systemd/$u" "$root/usr/lib/systemd/system/$u" || fail "$u differs from systemd/$u"
        done
        cmp -s "$src/systemd/taskpoller.sysusers.conf" "$root/usr/lib/sysusers.d/taskpoller.conf" ||
            fail "sysusers snippet differs from the source"
        cmp -s "$src/config/taskpoller.yaml" "$root/etc/taskpoller/taskpoller.yaml" ||
            fail "example config differs from config/taskpoller.yaml"
    fi
}

run_install() {
    DESTDIR="$tmp/root" cmake --install "$build" >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log"; fail "cmake --install failed"; return; }
    check_tree "$tmp/root"
}

# depends_has PKG DEPENDS: PKG is one of the package names in a Depends field.
depends_has() {
    tr ',|' '\n\n' <<<"$2" | sed 's/^ *//; s/[ (].*//' | grep -qxF -- "$1"
}

# depends_covers BIN DEPENDS: every shared library BIN needs directly (its NEEDED entries, as
# dpkg-shlibdeps reads them) comes from a package named in DEPENDS; what those libraries need in
# turn is their packages' own Depends (libpq5's Kerberos and LDAP libraries, say).
depends_covers() {
    local bin=$1 depends=$2 lib real pkg needed
    needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    while read -r lib; do
        grep -qxF -- "$(basename "$lib")" <<<"$needed" || continue
        real=$(readlink -f "$lib")
        pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true)
        pkg=${pkg%%:*}
        if [[ -z $pkg ]]; then fail "$(basename "$bin"): no package owns $lib"; continue; fi
        # Sanitizer runtimes come from the compiler's packages; only check what a release needs.
        [[ $pkg == libasan* || $pkg == libubsan* ]] && continue
        depends_has "$pkg" "$depends" || fail "$(basename "$bin") needs $lib ($pkg), not in Depends"
    done < <(ldd "$bin" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p')
}

# Where run_deb leaves the package for run_lintian.
keep="$build/packaging"

run_deb() {
    local out="$tmp/out" deb root="$tmp/root" ctl="$tmp/control" depends
    mkdir -p "$out" "$keep"
    # Never leave lintian a package from an earlier run.
    rm -f "$keep"/*.deb
    cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$tmp/cpack.log" 2>&1 ||
        { cat "$tmp/cpack.log"; fail "cpack failed"; return; }
    shopt -s nullglob
    local debs=("$out"/*.deb)
    [[ ${#debs[@]} -eq 1 ]] || { fail "expected one .deb, got ${#debs[@]}"; return; }
    deb=${debs[0]}
    ok "built $(basename "$deb"), $(stat -c %s "$deb") bytes"
    cp "$deb" "$keep/"
    dpkg-deb -I "$deb" >"$tmp/info" || fail "dpkg-deb -I failed"
    [[ $(dpkg-deb -f "$deb" Package) == taskpoller ]] || fail "Package is not taskpoller"
    [[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version is not $version"
    [[ $(dpkg-deb -f "$deb" Architecture) == "$(dpkg --print-architecture)" ]] || fail "wrong Architecture"
    depends=$(dpkg-deb -f "$deb" Depends)
    echo "Depends: $depends"
    for pkg in libc6 libstdc++6 libssl3 libboost-json1.81.0 libfmt9; do
        depends_has "$pkg" "$depends" || fail "Depends lacks $pkg"
    done
    # The postinst's systemd-sysusers, as dh_installsysusers declares it; no adduser.
    grep -qF 'systemd | systemd-standalone-sysusers | systemd-sysusers' <<<"$depends" ||
        fail "Depends lacks systemd | systemd-standalone-sysusers | systemd-sysusers"
    ! depends_has adduser "$depends" || fail "Depends names adduser"
    depends_covers "$ctl_bin" "$depends"
    if [[ -n $daemon_bin ]]; then
        # The configuration is YAML; everything else the daemon links is checked through ldd.
        depends_has libyaml-cpp0.7 "$depends" || fail "Depends lacks libyaml-cpp0.7"
        depends_covers "$daemon_bin" "$depends"
    fi
    ok "metadata and Depends"
    # The Depends resolve on this system (a simulation: nothing is installed).
    if command -v apt-get >/dev/null; then
        if timeout 120 apt-get install -s "$deb" >"$tmp/apt.log" 2>&1 && grep -q '^Inst taskpoller ' "$tmp/apt.log"; then
            ok "apt-get install -s resolves the package"
        else
            tail -20 "$tmp/apt.log"; fail "apt-get install -s $deb failed"
        fi
    fi

    # Control area: conffile and maintainer scripts.
    dpkg-deb -e "$deb" "$ctl"
    [[ $(cat "$ctl/conffiles") == /etc/taskpoller/taskpoller.yaml ]] || fail "conffiles: $(cat "$ctl/conffiles")"
    for s in postinst prerm postrm; do
        [[ -x $ctl/$s ]] || fail "$s missing or not executable"
        sh -n "$ctl/$s" || fail "$s: syntax error"
    done
    ok "conffiles and maintainer scripts"
    check_maintainer_scripts "$ctl"

    # Contents: what dpkg-deb -c lists is what an install produces, owned by root.
    dpkg-deb -c "$deb" >"$tmp/contents"
    if awk '$2 != "root/root" {bad=1} END {exit bad}' "$tmp/contents"; then ok "all entries root/root"; else fail "entries not owned by root/root"; fi
    dpkg-deb -x "$deb" "$root"
    local saved_prefix=$prefix saved_etc=$sysconfdir
    prefix=/usr sysconfdir=/etc flavor=deb check_tree "$root"
    prefix=$saved_prefix sysconfdir=$saved_etc
    # The Debian changelog's newest entry is this version.
    local top
    top=$(gzip -dc "$root/usr/share/doc/taskpoller/changelog.gz" | head -1)
    [[ $top == "taskpoller ($version) "* ]] ||
        fail "cmake/debian/changelog: newest entry is '$top', not version $version (add an entry)"
    ok "changelog.gz starts with version $version"

    # The extracted binaries run.
    "$root/usr/bin/taskpollerctl" --help >"$tmp/help" 2>&1 || fail "taskpollerctl --help failed"
    grep -q taskpollerctl "$tmp/help" || fail "taskpollerctl --help does not name itself"
    ok "extracted taskpollerctl --help"
    if [[ -n $daemon_bin ]]; then
        local d="$root/usr/bin/taskpollerd" cfg="$root/etc/taskpoller/taskpoller.yaml" rc=0
        env -u CREDENTIALS_DIRECTORY -u LISTEN_FDS -u LISTEN_PID -u NOTIFY_SOCKET \
            TASKPOLLER_SECRET_ID=AKIDpackagingtest TASKPOLLER_SECRET_KEY=packagingtestkey \
            "$d" --config "$cfg" --check-config >"$tmp/check" 2>&1 || rc=$?
        [[ $rc -eq 0 ]] || { cat "$tmp/check"; fail "taskpollerd --check-config on the shipped config: exit $rc"; }
        ok "extracted taskpollerd --check-config on the extracted example config"
        # The same check rejects a broken copy: it is not a rubber stamp.
        sed 's/^polling:/polling:\n  intervall: 2s/' "$cfg" >"$tmp/broken.yaml"
        rc=0
        TASKPOLLER_SECRET_ID=a TASKPOLLER_SECRET_KEY=b "$d" --config "$tmp/broken.yaml" --check-config \
            >"$tmp/check2" 2>&1 || rc=$?
        [[ $rc -eq 1 ]] && grep -q intervall "$tmp/check2" ||
            { cat "$tmp/check2"; fail "broken config: exit $rc, expected 1 naming the key"; }
        "$d" --version | grep -qF "$version" || fail "taskpollerd --version does not print $version"
        ok "extracted taskpollerd rejects a broken config and prints its version"
    fi
}

# check_maintainer_scripts CONTROL_DIR: with stub systemd tools on PATH (deb-systemd-helper
# answers "not installed before, not enabled", as on a first install), postinst "configure" creates
# the user and the directories from our snippets, records the units' state and enables, starts or
# restarts nothing; systemd is reloaded only when it is running. prerm stops the units on "remove"
# only when systemd is running; postrm "purge" forgets the units' enablement.
check_maintainer_scripts() {
    local ctl=$1 stubs="$tmp/stubs" log="$tmp/stub.log" t running=0
    [[ -d /run/systemd/system ]] && running=1
    mkdir -p "$stubs"
    for t in systemd-sysusers systemd-tmpfiles systemctl adduser deb-systemd-helper deb-systemd-invoke; do
        printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$t" "$log" >"$stubs/$t"
        chmod +x "$stubs/$t"
    done
    # Queries answer "no" (exit 1); actions succeed.
    printf '#!/bin/sh\necho "deb-systemd-helper $*" >>"%s"\ncase "$*" in *debian-installed*|*was-enabled*|*is-enabled*) exit 1;; esac\n' \
        "$log" >"$stubs/deb-systemd-helper"
    : >"$log"
    PATH="$stubs:/usr/bin:/bin" sh "$ctl/postinst" configure || fail "postinst configure failed"
    grep -qx 'systemd-sysusers taskpoller.conf' "$log" || fail "postinst did not run systemd-sysusers taskpoller.conf"
    grep -qx 'systemd-tmpfiles --create taskpoller.conf' "$log" || fail "postinst did not run systemd-tmpfiles --create"
    for t in taskpollerd.service taskpollerd.socket; do
        grep -qx "deb-systemd-helper update-state $t" "$log" || fail "postinst did not update-state $t"
    done
    if ((running)); then
        grep -qx 'systemctl --system daemon-reload' "$log" || fail "postinst did not reload systemd"
    else
        ! grep -q '^systemctl' "$log" || fail "postinst called systemctl without systemd running"
    fi
    ! grep -qE '^(deb-systemd-helper enable|deb-systemd-invoke|systemctl .*(enable|start))' "$log" ||
        fail "postinst of a first install enabled, started or restarted a unit: $(cat "$log")"
    ! grep -q adduser "$log" || fail "postinst called adduser"
    : >"$log"
    PATH="$stubs:/usr/bin:/bin" sh "$ctl/postinst" abort-upgrade 0.0.1 || fail "postinst abort-upgrade failed"
    ! grep -qE '^(deb-systemd-helper enable|systemctl .*(enable|start))' "$log" ||
        fail "postinst abort-upgrade enabled or started a unit: $(cat "$log")"
    ok "postinst (stubbed systemd tools)"

    : >"$log"
    PATH="$stubs:/usr/bin:/bin" sh "$ctl/prerm" upgrade 0.1.1 || fail "prerm upgrade failed"
    [[ ! -s $log ]] || fail "prerm upgrade did something: $(cat "$log")"
    PATH="$stubs:/usr/bin:/bin" sh "$ctl/prerm" remove || fail "prerm remove failed"
    if ((running)); then
        grep -q '^deb-systemd-invoke stop .*taskpollerd.service' "$log" || fail "prerm remove did not stop taskpollerd"
    else
        [[ ! -s $log ]] || fail "prerm remove without systemd running did something: $(cat "$log")"
    fi
    ! grep -q '^systemctl' "$log" || fail "prerm called systemctl directly"
    ok "prerm (stubbed systemd tools)"

    : >"$log"
    PATH="$stubs:/usr/bin:/bin" sh "$ctl/postrm" purge || fail "postrm purge failed"
    if [[ -x /usr/bin/deb-systemd-helper ]]; then
        grep -qx 'deb-systemd-helper purge taskpollerd.service taskpollerd.socket' "$log" ||
            fail "postrm purge did not purge the units' state: $(cat "$log")"
    fi
    ok "postrm (stubbed systemd tools)"
}

# run_lintian: lintian on the package run_deb left (ctest: packaging_deb is this test's fixture).
# Errors and warnings fail (--fail-on, and the output is read too); infos are shown; an override
# that matches no tag fails as well, so overrides do not outlive their reason.
run_lintian() {
    command -v lintian >/dev/null || { fail "lintian is not installed (scripts/bootstrap installs it)"; return; }
    shopt -s nullglob
    local debs=("$keep"/*.deb) rc=0
    [[ ${#debs[@]} -eq 1 ]] ||
        { fail "expected one .deb in $keep (left by packaging_deb), found ${#debs[@]}"; return; }
    echo "lintian $(lintian --version | sed 's/^Lintian v//') on $(basename "${debs[0]}")"
    lintian --fail-on error,warning --display-info --show-overrides --tag-display-limit 0 \
        "${debs[0]}" >"$tmp/lintian.log" 2>"$tmp/lintian.err" || rc=$?
    # lintian says so on stderr when run as root (as in CI); anything else there is shown.
    grep -v '^running with root privileges is not recommended!$' "$tmp/lintian.err" || true
    cat "$tmp/lintian.log"
    [[ $rc -eq 0 ]] || fail "lintian exited $rc (errors or warnings above)"
    ! grep -qE '^[EW]: ' "$tmp/lintian.log" || fail "lintian reports errors or warnings"
    ! grep -qE '(unused|mismatched)-override' "$tmp/lintian.log" ||
        fail "a lintian override matches no tag: update cmake/debian/lintian-overrides"
    [[ $failures -ne 0 ]] || ok "lintian: no errors, no warnings"
}

run_man() {
    local f
    for f in "$src"/docs/man/*.[1-8]; do
        if groff -man -Tutf8 -ww -z "$f" 2>"$tmp/warn" && [[ ! -s $tmp/warn ]]; then
            ok "$(basename "$f") renders without warnings"
        else
            cat "$tmp/warn"; fail "$(basename "$f"): groff warnings"
        fi
        MANWIDTH=80 man -l "$f" 2>/dev/null | grep -q '^NAME' || fail "$(basename "$f"): man -l shows no NAME"
    done
    for f in taskpollerd.8 taskpoller.yaml.5 taskpollerctl.1; do
        [[ -f $src/docs/man/$f ]] || fail "docs/man/$f missing"
    done
    # Every key in docs/configuration.md's tables is in taskpoller.yaml(5).
    local page="$src/docs/man/taskpoller.yaml.5" key missing=0 n=0
    while read -r key; do
        n=$((n + 1))
        grep -qw -- "$key" "$page" || { fail "taskpoller.yaml.5 lacks key $key"; missing=1; }
    done < <(sed -n 's/^| `\([a-z_]*\)` |.*/\1/p' "$src/docs/configuration.md" | sort -u)
    [[ $n -gt 40 ]] || fail "found only $n keys in docs/configuration.md"
    [[ $missing -eq 0 ]] && ok "taskpoller.yaml.5 covers all $n configuration keys"
    # Every section too.
    while read -r key; do
        grep -q "^\.SS $key\$" "$page" || fail "taskpoller.yaml.5 lacks section $key"
    done < <(sed -n 's/^## \([a-z_]*\)$/\1/p' "$src/docs/configuration.md")
    # Every long option of taskpollerd is in taskpollerd(8) (\- is how troff writes a dash).
    if [[ -n $daemon_bin ]]; then
        local opts
        opts=$("$daemon_bin" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
        [[ -n $opts ]] || fail "taskpollerd --help lists no options"
        for key in $opts; do
            grep -qF -- "$(sed 's/-/\\-/g' <<<"$key")" "$src/docs/man/taskpollerd.8" ||
                fail "taskpollerd.8 does not document $key"
        done
        ok "taskpollerd.8 documents $(wc -w <<<"$opts") options"
    fi
}

run_prefix() {
    local b="$tmp/b" unit
    cmake -S "$src" -B "$b" -G Ninja -DTASKPOLLER_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/opt/tp \
        >"$tmp/cfg.log" 2>&1 || { cat "$tmp/cfg.log"; fail "configure with /opt/tp failed"; return; }
    unit="$b/systemd/taskpollerd.service"
    grep -qx 'ExecStart=/opt/tp/bin/taskpollerd --config /etc/opt/tp/taskpoller/taskpoller.yaml' "$unit" ||
        fail "ExecStart not rewritten: $(grep ExecStart= "$unit")"
    grep -qx 'ExecReload=/opt/tp/bin/taskpollerctl -s /run/taskpoller/taskpoller.sock reload' "$unit" ||
        fail "ExecReload not rewritten"
    grep -qx 'LoadCredential=secret_key:/etc/opt/tp/taskpoller/%i.secret_key' "$b/systemd/taskpollerd@.service" ||
        fail "LoadCredential not rewritten in the template"
    ! grep -q '/usr/bin/\|/etc/taskpoller/' "$b"/systemd/* || fail "a unit still names /usr/bin or /etc/taskpoller"
    ok "units follow -DCMAKE_INSTALL_PREFIX=/opt/tp"
    rm -rf "$b"
    cmake -S "$src" -B "$b" -G Ninja -DTASKPOLLER_BUILD_TESTS=OFF >"$tmp/cfg.log" 2>&1 ||
        { cat "$tmp/cfg.log"; fail "default configure failed"; return; }
    grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$b/CMakeCache.txt" || fail "default prefix is not /usr"
    cmp -s "$src/systemd/taskpollerd.service" "$b/systemd/taskpollerd.service" ||
        fail "with prefix /usr the unit differs from systemd/taskpollerd.service"
    ok "default prefix /usr, units unchanged"
}

case $mode in
    install) run_install ;;
    prefix) run_prefix ;;
    deb) run_deb ;;
    lintian) run_lintian ;;
    man) run_man ;;
    *) echo "unknown mode $mode"; exit 2 ;;
esac
if [[ $failures -ne 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all $mode checks passed"
