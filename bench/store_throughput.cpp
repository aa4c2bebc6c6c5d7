// Throughput of the store's hot paths at 100,000 tasks: insert (batches of 10), update (a poll
// that changes state), get, and filtered paginated listing.
//   usage: store_throughput [tasks]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace core = taskpoller::core;
namespace st = taskpoller::store;
using steady = std::chrono::steady_clock;

namespace {

void report(const char* what, long n, steady::time_point start) {
    double s = std::chrono::duration<double>(steady::now() - start).count();
    std::printf("%-28s %8ld ops %8.3f s %12.0f ops/s\n", what, n, s, n / s);
}

}  // namespace

int main(int argc, char** argv) {
    const long tasks = argc > 1 ? std::atol(argv[1]) : 100'000;
    core::real_clock clock;
    st::store s{clock};
    auto t0 = steady::now();
    long rid = 0;
    for (long b = 0; b < tasks / 10; ++b) {
        auto batch =
            s.create_batch({b % 2 ? "lb" : "cvm", "Act", "", {{"run", std::to_string(b % 7)}}, ""});
        st::batch_outcome o;
        for (int i = 0; i < 10; ++i, ++rid) {
            o.entries.push_back({"res-" + std::to_string(rid),
                                 core::entry_outcome::accepted,
                                 0,
                                 "",
                                 std::to_string(rid),
                                 {}});
        }
        if (!s.record_batch_outcome(batch->id, o)) return 1;
    }
    report("insert (10 per batch)", rid, t0);

    auto service_of = [](long r) { return (r / 10) % 2 ? "lb" : "cvm"; };
    t0 = steady::now();
    st::task_update u;
    u.state = core::task_state::running;
    for (long r = 0; r < rid; ++r) {
        if (!s.update_task({service_of(r), std::to_string(r)}, u)) return 1;
    }
    report("update pending->running", rid, t0);

    t0 = steady::now();
    u.state = core::task_state::succeeded;
    for (long r = 0; r < rid; r += 2) {
        if (!s.update_task({service_of(r), std::to_string(r)}, u)) return 1;
    }
    report("update running->succeeded", rid / 2, t0);

    t0 = steady::now();
    long found = 0;
    for (long r = 0; r < rid; ++r) found += s.get_task({service_of(r), std::to_string(r)}) ? 1 : 0;
    report("get_task", found, t0);

    t0 = steady::now();
    long listed = 0, pages = 0;
    st::page_request p{100, ""};
    do {
        auto page = s.list_tasks({.state = core::task_state::running, .service = "lb"}, p);
        listed += static_cast<long>(page->items.size());
        p.page_token = page->next_page_token;
        ++pages;
    } while (!p.page_token.empty());
    report("list state+service (items)", listed, t0);

    t0 = steady::now();
    listed = 0;
    p = {100, ""};
    for (int i = 0; i < 100; ++i) {
        auto page =
            s.list_tasks({.state = core::task_state::succeeded, .labels = {{"run", "3"}}}, p);
        listed += static_cast<long>(page->items.size());
    }
    report("first page state+label", 100, t0);
    std::printf("pages=%ld\n", pages);
    return 0;
}
