#pragma once
// Waiting for a store change to be durable (docs/ha.md "Durability"): the tracker awaits its
// batch's intent before sending, the control routes await a mutation before answering 2xx.
// With the journal the answer is immediate; with the PostgreSQL ledger it comes when the
// transaction holding the change commits.

#include <boost/asio/awaitable.hpp>
#include <cstdint>

#include "core/result.hpp"

namespace taskpoller::store {
class store;
}

namespace taskpoller::engine {

/// Completes once every change up to `seq` is durable, or with the (unavailable) error saying
/// why it never will be. The store must outlive the wait.
boost::asio::awaitable<core::result<void>> async_durable(const store::store& s, std::uint64_t seq);

}  // namespace taskpoller::engine
