#include "control/query.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "core/duration.hpp"

namespace taskpoller::control {

std::optional<std::string_view> query_params::get(std::string_view name) const {
    for (const auto& [k, v] : items_)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

std::vector<std::string_view> query_params::all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& [k, v] : items_)
        if (k == name) out.emplace_back(v);
    return out;
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

expected<std::string> percent_decode(std::string_view in, bool plus_as_space) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '+' && plus_as_space) {
            out.push_back(' ');
        } else if (c != '%') {
            out.push_back(c);
        } else {
            bool room = i + 2 < in.size();
            int hi = room ? hex_value(in[i + 1]) : -1;
            int lo = room ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return bad_request(fmt::format("invalid percent-escape in '{}'", in));
            char decoded = static_cast<char>(hi * 16 + lo);
            if (decoded == '\0')
                return bad_request(fmt::format("'%00' is not allowed in '{}'", in));
            out.push_back(decoded);
            i += 2;
        }
    }
    return out;
}

expected<query_params> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> items;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view piece = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (piece.empty()) continue;
        auto eq = piece.find('=');
        std::string_view raw_name = piece.substr(0, eq);
        std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
        auto name = percent_decode(raw_name, true);
        if (!name) return name.error();
        if (name->empty())
            return bad_request(fmt::format("query parameter '{}' has an empty name", piece));
        auto value = percent_decode(raw_value, true);
        if (!value) return value.error();
        items.emplace_back(std::move(*name), std::move(*value));
    }
    return query_params(std::move(items));
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q + 1)};
}

namespace {
constexpr std::int64_t max_duration_ms = 100LL * 366 * 24 * 3'600'000;

expected<core::parsed_duration> parse_grammar(std::string_view text, std::string_view what) {
    auto p = core::parse_duration(text);
    if (!p.ok())
        return bad_request(fmt::format("{} '{}' is not a duration ({}; {})", what, text,
                                       core::describe(p.problem), core::duration_hint));
    return p;
}
}  // namespace

expected<std::chrono::milliseconds> parse_duration(std::string_view text, std::string_view what) {
    auto p = parse_grammar(text, what);
    if (!p) return p.error();
    if (p->saturated || p->value.count() > max_duration_ms)
        return bad_request(fmt::format("{} '{}' is too long (at most 100 years)", what, text));
    return p->value;
}

expected<std::optional<std::chrono::milliseconds>> query_duration(const query_params& q,
                                                                  std::string_view name,
                                                                  std::chrono::milliseconds max) {
    auto raw = q.get(name);
    if (!raw) return std::optional<std::chrono::milliseconds>{};
    auto p = parse_grammar(*raw, name);
    if (!p) return p.error();
    // A valid but huge value (saturated at the largest duration) is capped like any other.
    return std::optional<std::chrono::milliseconds>(std::min(p->value, max));
}

}  // namespace taskpoller::control
