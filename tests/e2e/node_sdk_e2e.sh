#!/usr/bin/env bash
# taskpoller-sim against the official Tencent Cloud Node.js SDK (tencentcloud-sdk-nodejs-cvm and
# -common, installed by scripts/node-sdk): calls the SDK signs are accepted and run once; a body
# changed after signing, timestamps 10 minutes slow and 6 minutes fast, an unknown SecretId are
# refused with the cloud's codes and run nothing. node_sdk_client.js makes the calls and checks.
# Usage: node_sdk_e2e.sh DAEMON CTL SIM NOTIFY_SINK NODE
# The SDK directory: $TASKPOLLER_NODE_SDK_DIR, else what scripts/node-sdk installs into,
# ${XDG_CACHE_HOME:-$HOME/.cache}/taskpoller/node-sdk. Missing node or SDK fail the test.
source "$(dirname "$0")/lib.sh" "$@"
node_bin=${5:-node}
sdk_dir=${TASKPOLLER_NODE_SDK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taskpoller/node-sdk}

command -v "$node_bin" >/dev/null ||
    fail "node ($node_bin) not found: run scripts/bootstrap (it installs Debian's nodejs and npm)"
for p in tencentcloud-sdk-nodejs-common tencentcloud-sdk-nodejs-cvm; do
    [[ -f "$sdk_dir/node_modules/$p/package.json" ]] ||
        fail "$p is not installed in $sdk_dir: run scripts/bootstrap (or scripts/node-sdk)" \
            "as the user who runs the tests"
done

# The simulator's own defaults for what is checked here: the example account, replay checks on,
# a 300 s timestamp window (as the cloud).
start_sim 'instances: {running: 4, stopped: 1}' 'operations: {default: {duration: 2s}}'

timeout 60 "$node_bin" "$(dirname "$0")/node_sdk_client.js" "$sdk_dir" "$sim_port" ||
    fail "node_sdk_client.js failed (exit $?)"
pass "the official Node SDK against taskpoller-sim"
