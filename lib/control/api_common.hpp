#pragma once
// Internal to the API routes (api_*.cpp): request parsing shared by several routes, the mapping
// of engine/store errors to API errors, and the long-poll helper.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "control/api.hpp"
#include "control/handler.hpp"
#include "core/labels.hpp"
#include "core/poll_settings.hpp"
#include "core/result.hpp"
#include "store/types.hpp"

namespace taskpoller::control::detail {

/// 400 invalid_argument: a well-formed request asking for something invalid.
api_error invalid_argument(std::string message);
/// invalid → 400 invalid_argument, not_found → 404, conflict → 409.
api_error from_core(const core::error& e);

/// Whether a mutation just applied (its change `seq`) may be acknowledged: nothing once it is
/// durable (engine/durable.hpp: at once with the journal, at the commit with the PostgreSQL
/// ledger); otherwise the 503 unavailable to answer instead (the journal failed: the change is
/// kept in memory and written when the journal recovers, but nothing is promised before that;
/// or the ledger's leader lost its lease before committing it).
boost::asio::awaitable<std::optional<api_error>> unless_durable(const api_context& ctx,
                                                                std::uint64_t seq);

/// Rejects query parameters not in `allowed`, naming them (400 bad_request).
expected<void> check_query(const query_params& q, std::initializer_list<std::string_view> allowed);
/// `limit` (1..1000, default 100) and `page_token`.
expected<store::page_request> page_of(const query_params& q);
/// Every `label=k=v` (repeatable), validated.
expected<core::labels> label_filter(const query_params& q);
/// A JSON object of string values as labels, validated; `field` names it in messages.
expected<core::labels> labels_of(const boost::json::object& body, std::string_view field);
/// The "poll" object of a request (docs/api.md "Poll settings"): duration strings.
struct poll_request {
    std::optional<std::chrono::milliseconds> timeout{};  ///< the tasks' deadline
    core::poll_settings own{};                           ///< their own schedule
};
/// Parses "poll": "timeout", "initial_delay", "interval", "max_interval" (each optional, a
/// duration string); unknown fields are refused. The configuration's bounds are the tracker's.
expected<poll_request> poll_of(const boost::json::object& body);

/// Starts a wait and returns the awaitable that completes when it is over (or times out).
using wait_starter = std::function<boost::asio::awaitable<void>(std::chrono::milliseconds)>;
/// Runs the `?wait=` long-poll of a GET: parses and caps the duration, takes a waiter slot
/// (429 when none), and waits until `start`'s awaitable completes or shutdown begins. Returns
/// an error to answer, or nothing when the handler should now answer with the current state.
boost::asio::awaitable<std::optional<api_error>> long_poll(request_context& rc, api_context& ctx,
                                                           const wait_starter& start);

void add_batch_routes(router& r, api_context& ctx);
void add_task_routes(router& r, api_context& ctx);
void add_event_routes(router& r, api_context& ctx);
void add_system_routes(router& r, api_context& ctx);

}  // namespace taskpoller::control::detail
