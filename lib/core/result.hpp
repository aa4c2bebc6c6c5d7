#pragma once
// Expected failures are values, not exceptions: functions that can fail on bad input return
// core::result<T> (a boost::system::result carrying core::error). Exceptions are for bugs and
// start-up errors only.

#include <boost/system/result.hpp>
#include <string>
#include <type_traits>
#include <utility>

namespace taskpoller::core {

/// What kind of expected failure an error is, so callers (e.g. the control API) can choose an
/// honest status without parsing messages. Defaults to `invalid`.
/// unavailable: the daemon cannot do it safely right now (e.g. the journal failed); retry later.
enum class error_kind { invalid, not_found, conflict, unavailable };

/// An expected failure, with a message fit to show to the user (never contains a secret).
struct error {
    std::string message;
    error_kind kind = error_kind::invalid;
};

/// Called by result<T>::value() when it holds an error; throws std::runtime_error(message).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

/// A successful result holding `v`. Needed for result<std::string>: since core::error can be
/// built from a string, `return some_string;` is ambiguous there and does not compile.
template <class T>
result<std::decay_t<T>> ok(T&& v) {
    return result<std::decay_t<T>>(boost::system::in_place_value, std::forward<T>(v));
}

}  // namespace taskpoller::core
