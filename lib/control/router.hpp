#pragma once
// The endpoint table: (method, path pattern) → handler. Patterns are literal segments and
// `{name}` segments (one non-empty segment each): "/v1/tasks/{service}/{request_id}".
// Matching is I/O-free and tells an unknown path (404) from a known path with the wrong method
// (405, with the methods to list in `Allow`). A GET route also answers HEAD.

#include <string>
#include <string_view>
#include <vector>

#include "control/handler.hpp"

namespace taskpoller::control {

/// Whether a route changes state. `by_method`: GET/HEAD read, everything else mutates.
enum class access_kind { by_method, read, mutation };

struct route {
    std::string method;
    std::string pattern;
    handler fn;
    bool mutation = false;
    std::vector<std::string> segments;  ///< pattern split on '/'; "{x}" for params
};

class router {
  public:
    /// Adds a route. Throws std::invalid_argument (a start-up bug) on a pattern that does not
    /// start with '/', an empty or malformed `{}` segment, or a duplicate (method, pattern).
    router& add(std::string method, std::string pattern, handler fn,
                access_kind access = access_kind::by_method);

    enum class outcome { found, not_found, method_not_allowed, bad_path };
    struct match_result {
        outcome kind = outcome::not_found;
        const route* matched = nullptr;    ///< set when found
        path_params params;                ///< decoded, when found
        std::vector<std::string> allowed;  ///< for method_not_allowed (sorted, HEAD with GET)
        api_error error;                   ///< the error to answer unless found
    };

    /// Finds the route for `method` and the raw (still percent-encoded) `path`. When several
    /// patterns match, the one with a literal segment where the other has a parameter wins.
    match_result match(std::string_view method, std::string_view path) const;

    const std::vector<route>& routes() const noexcept { return routes_; }

  private:
    std::vector<route> routes_;
};

/// The `Allow` header value for a list of methods ("GET, HEAD, POST").
std::string allow_header(const std::vector<std::string>& methods);

}  // namespace taskpoller::control
