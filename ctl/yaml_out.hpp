#pragma once
// A small YAML emitter for JSON values (`-o yaml`, `taskpollerctl config`): block style,
// strings quoted whenever a plain scalar could be read back as something else.

#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>

namespace taskpoller::ctl {

/// `v` as a YAML document (ending with '\n'); reading it back gives the same JSON value.
std::string to_yaml(const boost::json::value& v);

/// `s` as a YAML scalar: plain when that reads back as the same string, else double-quoted.
std::string yaml_string(std::string_view s);

}  // namespace taskpoller::ctl
