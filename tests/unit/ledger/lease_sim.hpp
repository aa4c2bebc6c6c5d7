#pragma once
// A simulation for the lease's property test (lease_property_test.cpp): two or three nodes, each
// a ledger::lease driven like the PostgreSQL driver will drive it, share a simulated lease row.
// Requests and answers are delayed, lost or failed at random, nodes pause for up to two ttls and
// reload other ttls, and every clock (each node's monotonic clock and the database's) runs at
// its own rate. It records, in real time, when each node had may_send() true, and checks that
// no two such windows overlap and that the database names the node the unexpired holder
// throughout its windows.

#include <algorithm>
#include <cmath>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "ledger/lease.hpp"

namespace taskpoller::ledger::sim {

using namespace std::chrono_literals;
using ns = std::chrono::nanoseconds;

struct row {
    int holder = -1;
    std::uint64_t epoch = 0;
    std::int64_t expires = 0;  // database clock, ns
};

struct window {
    std::int64_t start = 0;  // real ns, [start, end)
    std::int64_t end = 0;
    int node = 0;
    std::uint64_t epoch = 0;
};

struct sim_params {
    int nodes = 3;
    double rate_error = 0.04;  // every clock runs at 1 ± up to this
    lease_options lease{};
    std::int64_t length = 60'000'000'000;  // real ns
    bool reload_ttl = false;               // nodes reload other ttls at random times
    bool plain_expiry = false;             // expires_at = now() + ttl, even if shorter
};

struct sim_result {
    std::vector<window> windows;
    std::string violation;  // empty if none
    std::uint64_t terms = 0;
};

class simulation {
  public:
    simulation(const sim_params& p, std::uint64_t seed) : p_(p), rng_(seed) {
        std::uniform_real_distribution<double> rate(1 - p.rate_error, 1 + p.rate_error);
        db_rate_ = rate(rng_);
        for (int i = 0; i < p.nodes; ++i) {
            nodes_.push_back(node{lease(p.lease), rate(rng_), time_point{} + 1h * (i + 1)});
            event w;
            w.node = i;
            push(w);
        }
        const std::int64_t ttl = ns(p.lease.ttl).count();
        for (std::int64_t t = uniform(0, ttl); t < p.length; t += uniform(ttl / 2, 4 * ttl))
            push(t, ev::pause, static_cast<int>(uniform(0, p.nodes - 1)));
        if (p.reload_ttl)
            for (std::int64_t t = uniform(0, 10 * ttl); t < p.length; t += uniform(ttl, 10 * ttl))
                push(t, ev::reload, static_cast<int>(uniform(0, p.nodes - 1)));
        history_.push_back({0, row{}});
    }

    sim_result run() {
        while (!queue_.empty() && result_.violation.empty()) {
            const event e = queue_.top();
            queue_.pop();
            if (e.at > p_.length) break;
            handle(e);
        }
        for (int i = 0; i < p_.nodes; ++i) close(i, p_.length);
        check_overlaps();
        for (const node& n : nodes_) result_.terms += n.l.counters().terms;
        return result_;
    }

  private:
    enum class ev { wake, pause, reload, db_exec, answer };
    enum class outcome { granted, refused, error };
    struct event {
        std::int64_t at = 0;
        std::uint64_t order = 0;
        ev what = ev::wake;
        int node = 0;
        lease::request_id id = 0;
        lease_request kind = lease_request::acquire;
        std::uint64_t epoch = 0;
        std::int64_t ttl = 0;  // what the statement asks for
        outcome out = outcome::error;
        row seen{};
        std::int64_t db_now = 0;
        bool lose_answer = false;
        bool operator<(const event& o) const {  // priority_queue: earliest first
            return at != o.at ? at > o.at : order > o.order;
        }
    };
    struct node {
        lease l;
        double rate;
        time_point origin;
        std::int64_t paused_until = 0;
        std::uint64_t wake_gen = 0;
        bool open = false;
        window current{};
    };

    std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
    }
    bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
    void push(std::int64_t at, ev what, int n) {
        event e;
        e.at = at;
        e.what = what;
        e.node = n;
        push(e);
    }
    void push(event e) {
        e.order = order_++;
        queue_.push(e);
    }

    time_point local(int i, std::int64_t real) const {
        const node& n = nodes_[i];
        return n.origin + ns(std::llround(static_cast<double>(real) * n.rate));
    }
    // The first real instant at which node i's clock reads `t` or later.
    std::int64_t real_at(int i, time_point t) const {
        const node& n = nodes_[i];
        std::int64_t r = static_cast<std::int64_t>(
            std::ceil(static_cast<double>((t - n.origin).count()) / n.rate));
        while (local(i, r) < t) ++r;
        while (r > 0 && local(i, r - 1) >= t) --r;
        return r;
    }
    std::int64_t db_clock(std::int64_t real) const {
        return std::llround(static_cast<double>(real) * db_rate_);
    }
    static core::sys_time db_time(std::int64_t db_ns) {
        return core::sys_time{std::chrono::duration_cast<core::sys_time::duration>(ns(db_ns))};
    }
    std::int64_t delay() {
        const std::int64_t ttl = ns(p_.lease.ttl).count();
        const double d = std::uniform_real_distribution<double>(0, 1)(rng_);
        if (d < 0.75) return uniform(100'000, 20'000'000);
        if (d < 0.95) return uniform(20'000'000, ttl / 2);
        return uniform(ttl / 2, 2 * ttl);
    }

    void handle(const event& e) {
        if (e.what == ev::db_exec) return execute(e);
        node& n = nodes_[e.node];
        if (e.what == ev::wake && e.id != n.wake_gen) return;  // superseded by a later one
        if (e.what == ev::pause) {
            n.paused_until =
                std::max(n.paused_until, e.at + uniform(0, 2 * ns(p_.lease.ttl).count()));
            return;
        }
        if (e.at < n.paused_until) {  // a paused process handles it when it resumes
            event later = e;
            later.at = n.paused_until;
            return push(later);
        }
        close(e.node, e.at);
        const time_point now = local(e.node, e.at);
        if (e.what == ev::answer) deliver(n.l, e, now);
        if (e.what == ev::reload) {  // SIGHUP with another lease_ttl: 0.7, 1 or 1.5 times
            lease_options o = p_.lease;
            o.ttl = p_.lease.ttl * (7 + 4 * uniform(0, 2)) / 10;
            n.l.set_options(o, now);
        }
        drive(e.node, e.at);
        open(e.node, e.at);
    }

    void deliver(lease& l, const event& e, time_point now) {
        switch (e.out) {
            case outcome::granted:
                l.on_granted(e.id, e.seen.epoch, db_time(e.seen.expires), db_time(e.db_now), now);
                break;
            case outcome::refused:
                l.on_refused(e.id, std::to_string(e.seen.holder), e.seen.epoch,
                             db_time(e.seen.expires), db_time(e.db_now), now);
                break;
            case outcome::error:
                l.on_error(e.id, now);
                break;
        }
    }

    void drive(int i, std::int64_t real) {
        node& n = nodes_[i];
        for (;;) {
            const time_point now = local(i, real);
            const lease_action a = n.l.next_action(now);
            if (a.what == lease_action::kind::wait) {
                if (a.until == time_point::max()) return;
                event w;
                w.at = real_at(i, a.until);
                w.node = i;
                w.id = ++n.wake_gen;
                push(w);
                return;
            }
            const lease_request kind = a.what == lease_action::kind::send_renew
                                           ? lease_request::renew
                                           : lease_request::acquire;
            event x;
            x.what = ev::db_exec;
            x.node = i;
            x.kind = kind;
            x.epoch = n.l.epoch();
            x.ttl = ns(n.l.options().ttl).count();
            x.id = n.l.on_sent(kind, now);
            x.at = real + delay();
            if (chance(0.05)) {  // the connection drops before the statement runs
                x.what = ev::answer;
                x.out = outcome::error;
            }
            x.lose_answer = chance(0.02);  // ran, but the answer never comes
            push(x);
        }
    }

    // expires_at = greatest(expires_at, now() + ttl): a statement executed late (abandoned by its
    // sender, then run) cannot shorten the expiry a later grant promised (lib/ledger/schema.cpp).
    std::int64_t extend(std::int64_t old, std::int64_t proposed) const {
        return p_.plain_expiry ? proposed : std::max(old, proposed);
    }

    void execute(const event& e) {
        row& r = db_;
        const std::int64_t now = db_clock(e.at);
        const std::int64_t ttl = e.ttl;
        event a = e;
        a.what = ev::answer;
        a.db_now = now;
        if (e.kind == lease_request::acquire && (r.expires <= now || r.holder == e.node)) {
            r = row{e.node, r.epoch + 1, extend(r.expires, now + ttl)};
            a.out = outcome::granted;
        } else if (e.kind == lease_request::renew && r.holder == e.node && r.epoch == e.epoch) {
            r.expires = extend(r.expires, now + ttl);
            a.out = outcome::granted;
        } else {
            a.out = outcome::refused;
        }
        a.seen = r;
        history_.push_back({e.at, r});
        if (e.lose_answer) return;
        if (chance(0.03)) a.out = outcome::error;  // the connection drops after it ran
        a.at = e.at + delay();
        push(a);
    }

    void open(int i, std::int64_t real) {
        node& n = nodes_[i];
        if (!n.l.may_send(local(i, real))) return;
        n.open = true;
        n.current = window{real, real_at(i, n.l.local_deadline()), i, n.l.epoch()};
    }

    void close(int i, std::int64_t real) {
        node& n = nodes_[i];
        if (!n.open) return;
        n.open = false;
        window w = n.current;
        w.end = std::min(w.end, real);
        if (w.end <= w.start) return;
        result_.windows.push_back(w);
        check_database(w);
    }

    // Throughout the window the database names this node as the unexpired holder, with the
    // window's epoch or a later one (a stale acquire of this very node, executed late, may have
    // bumped it: its writes then fail the fence check, which is safe).
    void check_database(const window& w) {
        auto it = std::upper_bound(history_.begin(), history_.end(), w.start,
                                   [](std::int64_t x, const auto& h) { return x < h.first; });
        for (auto seg = std::prev(it); seg != history_.end() && seg->first < w.end; ++seg) {
            const row& r = seg->second;
            const auto next = std::next(seg);
            const std::int64_t last =
                (next == history_.end() || next->first >= w.end ? w.end : next->first) - 1;
            if (r.holder == w.node && r.epoch >= w.epoch && r.expires > db_clock(last)) continue;
            fail("node " + std::to_string(w.node) + " may send until " + std::to_string(last) +
                 " (window " + std::to_string(w.start) + ".." + std::to_string(w.end) + " epoch " +
                 std::to_string(w.epoch) + ") but the database says holder " +
                 std::to_string(r.holder) + " epoch " + std::to_string(r.epoch) + " expires " +
                 std::to_string(r.expires) + " at db " + std::to_string(db_clock(last)));
        }
    }

    void check_overlaps() {
        auto& ws = result_.windows;
        std::sort(ws.begin(), ws.end(),
                  [](const window& a, const window& b) { return a.start < b.start; });
        std::vector<std::int64_t> max_end(p_.nodes, 0);
        for (const window& w : ws) {
            for (int j = 0; j < p_.nodes; ++j)
                if (j != w.node && max_end[j] > w.start)
                    fail("nodes " + std::to_string(j) + " and " + std::to_string(w.node) +
                         " may both send at " + std::to_string(w.start));
            max_end[w.node] = std::max(max_end[w.node], w.end);
        }
    }

    void fail(std::string what) {
        if (result_.violation.empty()) result_.violation = std::move(what);
    }

    sim_params p_;
    std::mt19937_64 rng_;
    double db_rate_ = 1;
    std::vector<node> nodes_;
    row db_;
    std::vector<std::pair<std::int64_t, row>> history_;
    std::priority_queue<event> queue_;
    std::uint64_t order_ = 0;
    sim_result result_;
};

}  // namespace taskpoller::ledger::sim
