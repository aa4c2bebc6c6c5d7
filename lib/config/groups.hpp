#pragma once
// Group names in the configuration are checked when it is loaded, so `taskpollerd
// --check-config` refuses a group the daemon could not use at start-up.

#include <string_view>

#include "core/result.hpp"

namespace taskpoller::config {

/// Succeeds when `name_or_gid` is a decimal gid or the name of a group the system knows
/// (getgrnam_r). Fails with "unknown group 'NAME'" otherwise.
core::result<void> check_group_exists(std::string_view name_or_gid);

}  // namespace taskpoller::config
