#include "config/groups.hpp"

#include <fmt/format.h>
#include <grp.h>

#include <charconv>
#include <string>
#include <vector>

namespace taskpoller::config {

core::result<void> check_group_exists(std::string_view name) {
    unsigned long gid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), gid);
    if (!name.empty() && ec == std::errc() && end == name.data() + name.size()) return {};
    const std::string n(name);
    std::vector<char> buf(16384);
    group gr{};
    group* found = nullptr;
    if (::getgrnam_r(n.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found)
        return core::error{fmt::format("unknown group '{}'", name)};
    return {};
}

}  // namespace taskpoller::config
