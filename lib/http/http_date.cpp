#include "http/http_date.hpp"

#include <array>
#include <chrono>
#include <cstdio>

namespace taskpoller::http {

namespace {

constexpr std::array<std::string_view, 7> day_names = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::int64_t last_second = 253402300799;  // 9999-12-31T23:59:59Z

// `n` ASCII digits at `s[at]`, or -1.
int digits(std::string_view s, std::size_t at, std::size_t n) noexcept {
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = s[at + i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

template <std::size_t N>
int index_of(const std::array<std::string_view, N>& names, std::string_view s) noexcept {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == s) return static_cast<int>(i);
    return -1;
}

}  // namespace

std::optional<std::int64_t> parse_http_date(std::string_view t) noexcept {
    // 0123456789012345678901234567890
    // Sun, 06 Nov 1994 08:49:37 GMT
    if (t.size() != 29) return std::nullopt;
    if (t.substr(3, 2) != ", " || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' || t[19] != ':' ||
        t[22] != ':' || t.substr(25) != " GMT")
        return std::nullopt;
    const int wday = index_of(day_names, t.substr(0, 3));
    const int month = index_of(month_names, t.substr(8, 3));
    const int day = digits(t, 5, 2);
    const int year = digits(t, 12, 4);
    const int hour = digits(t, 17, 2);
    const int minute = digits(t, 20, 2);
    const int second = digits(t, 23, 2);
    if (wday < 0 || month < 0 || day < 0 || year < 1970 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60)  // 60: a leap second, as RFC 7231 allows
        return std::nullopt;
    namespace chr = std::chrono;
    const chr::year_month_day ymd{chr::year{year}, chr::month{static_cast<unsigned>(month + 1)},
                                  chr::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) return std::nullopt;
    const chr::sys_days days{ymd};
    if (static_cast<int>(chr::weekday{days}.c_encoding()) != wday) return std::nullopt;
    return static_cast<std::int64_t>(days.time_since_epoch().count()) * 86400 + hour * 3600 +
           minute * 60 + second;
}

std::string format_http_date(std::int64_t s) {
    if (s < 0) s = 0;
    if (s > last_second) s = last_second;
    namespace chr = std::chrono;
    const chr::sys_days days{chr::days{s / 86400}};
    const chr::year_month_day ymd{days};
    const auto in_day = s % 86400;
    char buf[32];
    const auto wday = chr::weekday{days}.c_encoding();
    const auto n = std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                                 day_names[wday].data(), static_cast<unsigned>(ymd.day()),
                                 month_names[static_cast<unsigned>(ymd.month()) - 1].data(),
                                 static_cast<int>(ymd.year()), static_cast<int>(in_day / 3600),
                                 static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60));
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace taskpoller::http
