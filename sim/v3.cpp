#include "sim/v3.hpp"

#include <cctype>
#include <set>

#include "sim/cvm.hpp"
#include "sim/simulator.hpp"

namespace taskpoller::sim {

std::optional<std::string_view> find_header(std::span<const header_field> headers,
                                            std::string_view name) noexcept {
    for (const auto& h : headers) {
        if (h.name.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; same && i < name.size(); ++i)
            same = std::tolower(static_cast<unsigned char>(h.name[i])) ==
                   std::tolower(static_cast<unsigned char>(name[i]));
        if (same) return h.value;
    }
    return std::nullopt;
}

}  // namespace taskpoller::sim

namespace taskpoller::sim::v3 {

namespace json = boost::json;

json::object envelope(const result& r, const std::string& request_id) {
    json::object response;
    if (r.err) {
        response["Error"] = json::object{{"Code", r.err->code}, {"Message", r.err->message}};
    } else {
        response = r.fields;
    }
    response["RequestId"] = request_id;
    return json::object{{"Response", std::move(response)}};
}

bool is_v3_host(std::string_view host) noexcept {
    host = strip_port(host);
    return host.size() > domain.size() + 1 && host.ends_with(domain) &&
           host[host.size() - domain.size() - 1] == '.';
}

std::string service_of(std::string_view host) {
    host = strip_port(host);
    if (!is_v3_host(host)) return {};
    auto head = host.substr(0, host.size() - domain.size() - 1);  // "cvm" or "cvm.ap-guangzhou"
    auto dot = head.find('.');
    auto service = head.substr(0, dot);
    if (service.empty()) return {};
    if (dot != std::string_view::npos) {
        auto region = head.substr(dot + 1);  // "ap-guangzhou" or "intl"
        if (region.empty() || region.find('.') != std::string_view::npos) return {};
    }
    for (char c : service)
        if (!std::islower(static_cast<unsigned char>(c)) &&
            !std::isdigit(static_cast<unsigned char>(c)))
            return {};
    return std::string(service);
}

std::string_view version_of(std::string_view service) noexcept {
    if (service == "cvm" || service == "vpc" || service == "cbs") return "2017-03-12";
    if (service == "clb") return "2018-03-17";
    return {};
}

std::string request_ids::next() {
    static constexpr char hex[] = "0123456789abcdef";
    auto a = rng_(), b = rng_();
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
        auto& src = i < 16 ? a : b;
        auto nibble = static_cast<unsigned>((src >> ((i % 16) * 4)) & 0xf);
        if (i == 12) nibble = 4;                 // version 4
        if (i == 16) nibble = 8 | (nibble & 3);  // variant 10xx
        out += hex[nibble];
    }
    return out;
}

std::string_view instance_state_name(int status, int during) noexcept {
    using namespace cvm_status;
    switch (status) {
        case running:
            return "RUNNING";
        case stopped:
            return "STOPPED";
        case starting:
            return "STARTING";
        case stopping:
            return "STOPPING";
        case rebooting:
            return "REBOOTING";
        case terminating:
            return "TERMINATING";
        case faulty:
            return "SHUTDOWN";
        case terminated:
            return "TERMINATED";
        case pending:
            return "PENDING";
        case launch_failed:
            return "LAUNCH_FAILED";
        default:
            return during != 0 && during != status ? instance_state_name(during, 0) : "PENDING";
    }
}

std::string instance_state_code(std::string_view state_name) {
    std::string out = "UnsupportedOperation.InstanceState";
    bool upper = true;
    for (char c : state_name) {
        if (c == '_') {
            upper = true;
            continue;
        }
        out += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        upper = false;
    }
    return out;
}

std::optional<error> string_list(const json::object& p, std::string_view name, std::size_t min,
                                 std::size_t max, std::vector<std::string>& out,
                                 std::string_view too_many_code) {
    out.clear();
    const auto* v = p.if_contains(name);
    if (!v || v->is_null())
        return error{"MissingParameter", "the parameter " + std::string(name) + " is required"};
    if (!v->is_array())
        return error{"InvalidParameter", std::string(name) + " must be an array of strings"};
    std::set<std::string_view> seen;
    for (const auto& e : v->as_array()) {
        if (!e.is_string())
            return error{"InvalidParameter", std::string(name) + " must be an array of strings"};
        std::string_view s = e.as_string();
        if (seen.insert(s).second) out.emplace_back(s);
    }
    if (out.size() < min || out.size() > max)
        return error{std::string(too_many_code), std::string(name) + " must have " +
                                                     std::to_string(min) + " to " +
                                                     std::to_string(max) + " elements"};
    return std::nullopt;
}

std::optional<error> required_string(const json::object& p, std::string_view name,
                                     std::string& out) {
    const auto* v = p.if_contains(name);
    if (!v || v->is_null() || (v->is_string() && v->as_string().empty()))
        return error{"MissingParameter", "the parameter " + std::string(name) + " is required"};
    if (!v->is_string()) return error{"InvalidParameter", std::string(name) + " must be a string"};
    out = v->as_string();
    return std::nullopt;
}

std::optional<error> optional_int(const json::object& p, std::string_view name, std::int64_t lo,
                                  std::int64_t hi, std::optional<std::int64_t>& out) {
    const auto* v = p.if_contains(name);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_int64() && !v->is_uint64())
        return error{"InvalidParameter", std::string(name) + " must be an integer"};
    // boost::json keeps an integer as uint64 only when it exceeds int64: out of range anyway.
    if (v->is_uint64() || v->as_int64() < lo || v->as_int64() > hi)
        return error{"InvalidParameterValue", std::string(name) + " must be within " +
                                                  std::to_string(lo) + ".." + std::to_string(hi)};
    auto n = v->as_int64();
    out = n;
    return std::nullopt;
}

std::optional<error> optional_bool(const json::object& p, std::string_view name, bool& out) {
    const auto* v = p.if_contains(name);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_bool()) return error{"InvalidParameter", std::string(name) + " must be a boolean"};
    out = v->as_bool();
    return std::nullopt;
}

std::optional<error> optional_enum(const json::object& p, std::string_view name,
                                   std::initializer_list<std::string_view> allowed) {
    const auto* v = p.if_contains(name);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) return error{"InvalidParameter", std::string(name) + " must be a string"};
    for (auto a : allowed)
        if (v->as_string() == a) return std::nullopt;
    return error{"InvalidParameterValue",
                 std::string(name) + " " + std::string(v->as_string()) + " is not supported"};
}

}  // namespace taskpoller::sim::v3
