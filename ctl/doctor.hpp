#pragma once
// `taskpollerctl doctor` (issue 18): what an operator checks first, from the daemon's own
// /v1/status and /v1/config — the socket, the daemon, where it sends calls, where its
// credentials come from, whether the cloud accepted them (the daemon's signed probes), the
// journal. Pure: the command fetches the two documents and prints the report.

#include <boost/json/value.hpp>
#include <string>

namespace taskpoller::ctl {

struct doctor_report {
    std::string text;     ///< one line per check: "ok   ...", "warn ...", "FAIL ..."
    bool failed = false;  ///< any FAIL (the command exits 1)
};

doctor_report build_doctor(const std::string& socket, const boost::json::value& status,
                           const boost::json::value& config, bool colour);

}  // namespace taskpoller::ctl
