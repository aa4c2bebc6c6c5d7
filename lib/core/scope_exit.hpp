#pragma once
// Runs a function when a scope ends, however it ends: normal exit, an exception, or a coroutine
// frame destroyed while suspended. Counters that span a co_await are released with it
// (docs/design.md "Faults").

#include <utility>

namespace taskpoller::core {

template <class F>
class scope_exit {
  public:
    explicit scope_exit(F f) : f_(std::move(f)) {}
    ~scope_exit() { run(); }
    scope_exit(const scope_exit&) = delete;
    scope_exit& operator=(const scope_exit&) = delete;

    /// Runs the function now instead of at the end of the scope (once).
    void run() {
        if (armed_) f_();
        armed_ = false;
    }

  private:
    F f_;
    bool armed_ = true;
};

}  // namespace taskpoller::core
