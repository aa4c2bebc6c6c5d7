#pragma once
// Examples shown at the end of each command's --help.

#include <string>

namespace taskpoller::ctl::help {

inline const std::string main_footer = R"(
Exit codes: 0 all succeeded; 1 something failed, was rejected, not found or cancelled (or the
daemon refused the request); 2 timed out, outcome unknown, or id unknown; 3 usage or connection
error. When several apply, the highest wins.

Examples:
  taskpollerctl ping
  taskpollerctl submit cvm StopInstances --param instanceIds.0=ins-1 --param instanceIds.1=ins-2 --wait
  taskpollerctl wait b-0001a2b3 --timeout 10m
  taskpollerctl list tasks --state failed --json
Run `taskpollerctl COMMAND --help` for each command's options and examples.)";

inline const std::string submit_footer = R"(
Parameters: --param KEY=VALUE sets a string (numbers stay strings, commas are not split);
dotted keys nest, digit segments index arrays from 0 (any order, no gaps); --param-json KEY=JSON
sets any JSON value; --params-json takes the whole object (JSON text or @FILE) and --param
values override it.

Examples:
  taskpollerctl submit cvm StopInstances --param instanceIds.0=ins-1 --param instanceIds.1=ins-2
  taskpollerctl submit lb ModifyLoadBalancerBackends --param loadBalancerId=lb-1 \
      --param backends.0.instanceId=ins-1 --param-json backends.0.weight=10 --wait
  taskpollerctl submit cvm StartInstances --params-json @params.json --label team=web \
      --client-token deploy-42 --timeout 15m
  taskpollerctl submit cvm StopInstances --param-json 'instanceIds=["ins-1","ins-2"]' --json)";

inline const std::string track_footer = R"(
Examples:
  taskpollerctl track lb 6356081 --action ModifyLoadBalancerBackends --resource lb-xyz
  taskpollerctl track cvm 3a4b --action StopInstances --resource ins-1 --resource ins-2 \
      --label ticket=OPS-7)";

inline const std::string get_footer = R"(
An id with a slash is a task (SERVICE/REQUEST_ID); without one, a batch. When several tasks
share a requestId (the daemon answers 409 and lists them), --region and --batch choose one.
Exit code 2 if the daemon does not know the id.

Examples:
  taskpollerctl get b-0001a2b3
  taskpollerctl get lb/6356081 --json
  taskpollerctl get lb/6356081 --batch b-0001c4d5)";

inline const std::string list_footer = R"(
Without --all, one page is shown and the next page token is printed to stderr. With --all and
--json, the pages are merged into one object with next_page_token null.

Examples:
  taskpollerctl list
  taskpollerctl list tasks --state running --service cvm
  taskpollerctl list tasks --batch b-0001a2b3 --all --json
  taskpollerctl list batches --label team=web --limit 20)";

inline const std::string wait_footer = R"(
On a terminal a progress bar with counts by state, the elapsed time and an ETA (from the
daemon's learned durations) is redrawn in place, fitted to the terminal's width; otherwise one
line is printed per change. The final state is then shown (--json: the daemon's JSON, one line
per id). If the daemon goes away (a restart), the wait reconnects with backoff until --timeout,
or for at most 5m without it.
Exit codes: 0 all succeeded; 1 some failed, rejected, not_found or cancelled; 2 some timed out,
an outcome is unknown, an id is unknown, or --timeout passed; 3 usage or connection error.

Examples:
  taskpollerctl wait b-0001a2b3
  taskpollerctl wait lb/6356081 cvm/3a4b --timeout 5m && echo all good)";

inline const std::string watch_footer = R"(
One line per event until interrupted or the daemon ends the stream. If the daemon cuts off a
slow reader, the reason and the --since value to resume from are printed (exit 1).

Examples:
  taskpollerctl watch
  taskpollerctl watch --since 1200 --json | jq .)";

inline const std::string cancel_footer = R"(
Cancelling stops only the tracking: the cloud operation itself goes on (taskpoller cannot stop
it), and the live tasks are marked cancelled. Check the resources in the cloud if it matters.
Cancelling a task that has already finished is refused (HTTP 409, exit 1). --region and
--batch choose among tasks that share a requestId, as for get.

Examples:
  taskpollerctl cancel b-0001a2b3
  taskpollerctl cancel lb/6356081)";

inline const std::string doctor_footer = R"(
Checks, from the daemon's own status and configuration: the socket, the daemon's version, where
calls go (region, API, endpoint), where the credentials come from, whether the cloud accepted
them (the daemon's signed probe of each service at start, after reloads and credential
re-reads), and the journal. Each line is ok, warn or FAIL; exit code 1 if any line is FAIL.

Examples:
  taskpollerctl doctor
  taskpollerctl doctor -o json)";

inline const std::string config_footer = R"(
Prints GET /v1/config, the configuration the daemon runs with, secrets shown as "<redacted>".
YAML by default; -o json prints the daemon's JSON as received.

Examples:
  taskpollerctl config
  taskpollerctl config -o json | jq .polling)";

inline const std::string completion_footer = R"(
The script is generated from this program's own command definitions, so it offers exactly its
commands, their options and the values they accept.

Examples:
  taskpollerctl completion bash > /etc/bash_completion.d/taskpollerctl
  source <(taskpollerctl completion bash)
  taskpollerctl completion zsh > "${fpath[1]}/_taskpollerctl"
  taskpollerctl completion fish > ~/.config/fish/completions/taskpollerctl.fish)";

inline std::string simple_footer(const std::string& name) {
    return "\nExample:\n  taskpollerctl " + name + (name == "metrics" ? "" : " [--json]");
}

}  // namespace taskpoller::ctl::help
