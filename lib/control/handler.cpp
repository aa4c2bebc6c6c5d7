#include "control/handler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>

namespace taskpoller::control {

response response::json(unsigned status, const boost::json::value& v) {
    response r;
    r.status = status;
    r.body = boost::json::serialize(v);
    r.body.push_back('\n');
    return r;
}

response response::error(const api_error& e) {
    response r;
    r.status = e.status;
    r.body = to_json(e);
    r.body.push_back('\n');
    return r;
}

response response::streaming(std::shared_ptr<line_stream> s) {
    response r;
    r.content_type = "application/x-ndjson";
    r.stream = std::move(s);
    return r;
}

namespace {
bool iequals(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}
}  // namespace

std::string_view request_context::header(std::string_view name) const {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return h.value;
    return {};
}

std::string_view request_context::param(std::string_view name) const {
    return params.get(name).value_or(std::string_view{});
}

std::string request_context::peer_text() const {
    if (!peer) return "unknown";
    return fmt::format("uid={} gid={} pid={}", peer->uid, peer->gid, peer->pid);
}

}  // namespace taskpoller::control
