#include "core/task_key.hpp"

#include <fmt/format.h>

namespace taskpoller::core {
namespace {

constexpr std::size_t max_service = 32;
constexpr std::size_t max_request_id = 128;

// Quotes user input in an error message without letting it grow the message without bound.
std::string quoted(std::string_view s) {
    constexpr std::size_t max_shown = 64;
    std::string out = "\"";
    for (char c : s.substr(0, max_shown)) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u >= 0x7f) ? '?' : c;
    }
    out += s.size() > max_shown ? "...\"" : "\"";
    return out;
}

}  // namespace

std::string format_task_key(std::string_view service, std::string_view request_id) {
    std::string s;
    s.reserve(service.size() + 1 + request_id.size());
    s.append(service).append(1, '/').append(request_id);
    return s;
}

std::string format_task_key(const task_key& k) {
    return format_task_key(k.service, k.request_id);
}

std::string format_task_identity(const task_key& k) {
    std::string s = format_task_key(k.service, k.request_id);
    s.reserve(s.size() + 2 + k.region.size() + k.batch_id.size());
    s.append(1, '\n').append(k.region).append(1, '\n').append(k.batch_id);
    return s;
}

task_key parse_task_identity(std::string_view text) {
    task_key k;
    auto nl = text.find('\n');
    auto head = text.substr(0, nl);
    auto slash = head.find('/');
    k.service = head.substr(0, slash);
    if (slash != std::string_view::npos) k.request_id = head.substr(slash + 1);
    if (nl == std::string_view::npos) return k;
    auto rest = text.substr(nl + 1);
    auto nl2 = rest.find('\n');
    k.region = rest.substr(0, nl2);
    if (nl2 != std::string_view::npos) k.batch_id = rest.substr(nl2 + 1);
    return k;
}

result<void> validate_service_name(std::string_view service) {
    if (service.empty() || service.size() > max_service) {
        return error{fmt::format("service name {} must be 1 to {} characters", quoted(service),
                                 max_service)};
    }
    for (char c : service) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) {
            return error{fmt::format("service name {} may only contain a-z, 0-9, '_' and '-'",
                                     quoted(service))};
        }
    }
    return {};
}

result<void> validate_request_id(std::string_view request_id) {
    if (request_id.empty() || request_id.size() > max_request_id) {
        return error{fmt::format("request id {} must be 1 to {} characters", quoted(request_id),
                                 max_request_id)};
    }
    for (char c : request_id) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '/') {
            return error{
                fmt::format("request id {} may only contain printable ASCII without spaces or '/'",
                            quoted(request_id))};
        }
    }
    return {};
}

result<task_key> parse_task_key(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return error{
            fmt::format("task key {} is not of the form service/request_id", quoted(text))};
    }
    auto service = text.substr(0, slash);
    auto request_id = text.substr(slash + 1);
    if (auto r = validate_service_name(service); !r) return r.error();
    if (auto r = validate_request_id(request_id); !r) return r.error();
    return task_key{std::string(service), std::string(request_id)};
}

}  // namespace taskpoller::core
