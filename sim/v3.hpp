#pragma once
// API 3.0 pieces shared by the 3.0 services (docs/simulator.md "API 3.0"): the answer envelope,
// error values, RequestIds, host routing and JSON parameter readers. I/O-free.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskpoller::sim {

/// One request header as received: `name` in any case, `value` as sent.
struct header_field {
    std::string_view name;
    std::string_view value;
};

/// The value of the first header named `name` (ASCII case-insensitive); nullopt if absent.
std::optional<std::string_view> find_header(std::span<const header_field> headers,
                                            std::string_view name) noexcept;

}  // namespace taskpoller::sim

namespace taskpoller::sim::v3 {

/// The domain every 3.0 host ends with.
inline constexpr std::string_view domain = "tencentcloudapi.com";

/// A refused 3.0 call: `{"Error":{"Code":code,"Message":message}}`.
struct error {
    std::string code;
    std::string message;
};

/// What a 3.0 service answers: an error, or the Response fields (without RequestId).
struct result {
    std::optional<error> err;
    boost::json::object fields;

    static result fail(std::string code, std::string message) {
        return {error{std::move(code), std::move(message)}, {}};
    }
    static result ok(boost::json::object fields = {}) { return {std::nullopt, std::move(fields)}; }
};

/// `{"Response":{...fields, "RequestId":id}}` or `{"Response":{"Error":{..},"RequestId":id}}`.
boost::json::object envelope(const result& r, const std::string& request_id);

/// Whether `host` (port ignored) is a 3.0 host: ends with ".tencentcloudapi.com".
bool is_v3_host(std::string_view host) noexcept;

/// The service a 3.0 host addresses: "cvm" for "cvm.tencentcloudapi.com",
/// "cvm.ap-guangzhou.tencentcloudapi.com" or "cvm.intl.tencentcloudapi.com" (port ignored).
/// Empty if the host has another shape.
std::string service_of(std::string_view host);

/// The API version each simulated 3.0 service answers to; empty for an unknown service.
std::string_view version_of(std::string_view service) noexcept;

/// Draws RequestIds like "5c1c8a7e-0a1b-4c2d-9e3f-0123456789ab" from a seeded RNG.
class request_ids {
  public:
    explicit request_ids(std::uint64_t seed) : seed_(seed), rng_(seed) {}
    std::string next();
    void reseed() { rng_.seed(seed_); }

  private:
    std::uint64_t seed_;
    std::mt19937_64 rng_;
};

/// The 3.0 InstanceState name of a CVM status code ("RUNNING" for 2); `during` names the state
/// an operation started from, used for statuses 3.0 has no name for (resetting password,
/// reinstalling).
std::string_view instance_state_name(int status, int during) noexcept;

/// "UnsupportedOperation.InstanceStateStopped" for "STOPPED" (CamelCase of the words).
std::string instance_state_code(std::string_view state_name);

// ---- JSON parameter readers: each returns an error for a present but ill-typed value. ----

/// A required array of strings with `min`..`max` elements (duplicates removed, order kept).
/// Missing: MissingParameter; not an array of strings: InvalidParameter; too few/many:
/// InvalidParameterValue.LimitExceeded (`too_many_code` overrides it).
std::optional<error> string_list(
    const boost::json::object& p, std::string_view name, std::size_t min, std::size_t max,
    std::vector<std::string>& out,
    std::string_view too_many_code = "InvalidParameterValue.LimitExceeded");

/// A required non-empty string: MissingParameter / InvalidParameter.
std::optional<error> required_string(const boost::json::object& p, std::string_view name,
                                     std::string& out);

/// An optional integer within [lo, hi]: InvalidParameter if not an integer,
/// InvalidParameterValue if out of range.
std::optional<error> optional_int(const boost::json::object& p, std::string_view name,
                                  std::int64_t lo, std::int64_t hi,
                                  std::optional<std::int64_t>& out);

/// An optional boolean: InvalidParameter if present and not a boolean.
std::optional<error> optional_bool(const boost::json::object& p, std::string_view name, bool& out);

/// An optional string out of `allowed`: InvalidParameter if not a string, InvalidParameterValue
/// if not allowed.
std::optional<error> optional_enum(const boost::json::object& p, std::string_view name,
                                   std::initializer_list<std::string_view> allowed);

}  // namespace taskpoller::sim::v3
