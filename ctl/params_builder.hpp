#pragma once
// Builds the JSON `params` object of a submission from command-line arguments.
//
// The rule (documented in docs/ctl.md):
//   --params-json OBJ|@FILE   a whole JSON object, the starting point (at most once);
//   --param KEY=VALUE         sets a string at a dotted path; VALUE is always a string, even
//                             when it looks like a number ("10" stays "10"), and is never split
//                             on commas;
//   --param-json KEY=JSON     sets any JSON value (number, bool, array, object) at a path.
// A path is dot-separated segments. A segment of digits indexes an array when it creates the
// container (or the container already is an array); arrays must be filled in order without
// gaps (`ids.0`, `ids.1`, ...), in any order. `backends.0.instanceId=ins-1` gives
// {"backends":[{"instanceId":"ins-1"}]}. --param values replace what --params-json put at the
// same path; giving the same KEY twice, or using a value both as a leaf and as a container, is
// an error.

#include <boost/json/object.hpp>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::ctl {

class params_builder {
  public:
    /// Replaces the base object with `json_text`, which must be a JSON object. Fails on invalid
    /// JSON or another type, or if called after a --param was set.
    core::result<void> set_base(std::string_view json_text);
    /// Applies `KEY=VALUE` as a string. Fails, naming the key, on a malformed argument or path.
    core::result<void> add_string(std::string_view assignment);
    /// Applies `KEY=JSON`. Fails on malformed JSON or path.
    core::result<void> add_json(std::string_view assignment);

    /// The params object. Fails if an array was left with a gap (`ids.0` and `ids.2` only).
    core::result<boost::json::object> build() const;

  private:
    core::result<void> set_path(std::string_view key, boost::json::value v);

    boost::json::object params_;
    std::set<std::string, std::less<>> keys_;
    std::set<std::string, std::less<>> holes_;
};

/// Reads `arg`: text that starts with '@' names a file whose contents are returned ("-" after
/// '@' reads standard input); anything else is returned as is. Fails if the file cannot be read
/// or exceeds 16 MiB.
core::result<std::string> read_inline_or_file(std::string_view arg);

/// Parses repeated `k=v` label arguments into an object. Fails on a missing '=', an empty key or
/// a key given twice.
core::result<boost::json::object> parse_labels(const std::vector<std::string>& args);

}  // namespace taskpoller::ctl
