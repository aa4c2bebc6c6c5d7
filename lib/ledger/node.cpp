#include "ledger/node.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <ctime>
#include <deque>
#include <random>
#include <set>

#include "core/scope_exit.hpp"
#include "ledger/migrate.hpp"
#include "ledger/pg_connection.hpp"
#include "ledger/schema.hpp"
#include "ledger/write_buffer.hpp"
#include "store/journal_record.hpp"
#include "store/store.hpp"

namespace taskpoller::ledger {
namespace asio = boost::asio;
using std::chrono::milliseconds;

time_point boottime_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return time_point(std::chrono::duration_cast<duration>(std::chrono::seconds(ts.tv_sec) +
                                                           std::chrono::nanoseconds(ts.tv_nsec)));
}

std::optional<core::sys_time> parse_pg_timestamp(std::string_view s) {
    if (s == "infinity") return core::sys_time::max();
    if (s == "-infinity") return core::sys_time::min();
    // YYYY-MM-DD HH:MM:SS[.f{1,6}](+|-)HH[:MM[:SS]]
    auto num = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
        if (pos + len > s.size()) return std::nullopt;
        int v = 0;
        auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, v);
        if (ec != std::errc{} || p != s.data() + pos + len) return std::nullopt;
        return v;
    };
    if (s.size() < 22 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
        s[13] != ':' || s[16] != ':') {
        return std::nullopt;
    }
    auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
         sec = num(17, 2);
    if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
    std::size_t pos = 19;
    std::int64_t micros = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 6) {
                micros = micros * 10 + (s[pos] - '0');
                ++digits;
            }
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (; digits < 6; ++digits) micros *= 10;
    }
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return std::nullopt;
    int sign = s[pos] == '+' ? 1 : -1;
    auto oh = num(pos + 1, 2);
    if (!oh) return std::nullopt;
    int off_min = 0;
    if (pos + 3 < s.size()) {
        if (s[pos + 3] != ':') return std::nullopt;
        auto om = num(pos + 4, 2);
        if (!om) return std::nullopt;
        off_min = *om;
    }
    std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(unsigned(*mo)),
                                    std::chrono::day(unsigned(*d))};
    if (!ymd.ok()) return std::nullopt;
    auto t = std::chrono::sys_days(ymd) + std::chrono::hours(*h) + std::chrono::minutes(*mi) +
             std::chrono::seconds(*sec) + std::chrono::microseconds(micros) -
             sign * (std::chrono::hours(*oh) + std::chrono::minutes(off_min));
    return std::chrono::time_point_cast<core::sys_time::duration>(t);
}

namespace {

constexpr std::string_view fetch_changes_sql =
    "SELECT seq, kind, subject, state, encode(record, 'hex'), "
    "(extract(epoch FROM clock_timestamp() - committed_at) * 1000)::bigint "
    "FROM tp_changes WHERE ledger = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3::int";
constexpr int fetch_limit = 5000;
constexpr std::string_view create_state_sql =
    "INSERT INTO tp_ledger_state (ledger) VALUES ($1) ON CONFLICT (ledger) DO NOTHING";
constexpr std::string_view snapshot_sql =
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
constexpr std::string_view last_seq_sql = "SELECT last_seq FROM tp_ledger_state WHERE ledger = $1";
constexpr std::string_view load_batches_sql =
    "SELECT encode(record, 'hex') FROM tp_batches WHERE ledger = $1 ORDER BY created_seq";
constexpr std::string_view record_intent_sql =
    "INSERT INTO tp_intents (ledger, client_token, batch_id, request, fingerprint, origin) "
    "VALUES ($1, $2, $3, $4::json, $5, $6) ON CONFLICT (ledger, client_token) DO NOTHING";
constexpr std::string_view read_intent_sql =
    "SELECT batch_id, fingerprint, state, coalesce(error, '') FROM tp_intents "
    "WHERE ledger = $1 AND client_token = $2";
constexpr std::string_view open_intents_sql =
    "SELECT client_token, batch_id, request::text, fingerprint FROM tp_intents "
    "WHERE ledger = $1 AND state = 'intent' ORDER BY created_at LIMIT 200";
constexpr std::string_view refuse_intent_sql =
    "UPDATE tp_intents SET state = 'refused', error = $3, finished_at = now() "
    "WHERE ledger = $1 AND client_token = $2 AND state = 'intent'";
constexpr std::string_view take_intent_sql =
    "UPDATE tp_intents SET state = 'done', batch_id = $3, finished_at = now() "
    "WHERE ledger = $1 AND client_token = $2 AND state = 'intent'";
// Changes older than an hour and more than trim_keep behind are deleted (a follower that far
// behind reloads: it stops at the gap and restarts).
constexpr std::string_view trim_changes_sql =
    "DELETE FROM tp_changes WHERE ledger = $1 AND seq <= $2::bigint "
    "AND committed_at < now() - interval '1 hour'";
constexpr std::uint64_t trim_keep = 100000;
constexpr std::string_view load_tasks_sql =
    "SELECT encode(record, 'hex') FROM tp_tasks WHERE ledger = $1 ORDER BY created_seq";

std::optional<store::change_kind> parse_kind(std::string_view k) {
    for (int i = 0; i < 6; ++i) {
        auto kind = static_cast<store::change_kind>(i);
        if (store::to_string(kind) == k) return kind;
    }
    return std::nullopt;
}

std::string interval_of(duration d) {
    return fmt::format("{} milliseconds", std::chrono::duration_cast<milliseconds>(d).count());
}

// "host-a/1f2e3d4c" → "host-a"
std::string node_of(std::string_view holder) {
    return std::string(holder.substr(0, holder.rfind('/')));
}

using std::chrono::seconds;

milliseconds ms(duration d) {
    return std::chrono::duration_cast<milliseconds>(d);
}

}  // namespace

struct node::impl : std::enable_shared_from_this<impl> {
    enum class state : std::uint8_t { follower, becoming_leader, leader, lost, stopped };

    impl(asio::any_io_executor ex, store::store& s, node_options o, callbacks c, core::logger l)
        : executor(ex),
          st(s),
          opt(std::move(o)),
          cb(std::move(c)),
          log(std::move(l)),
          lease_conn(ex, opt.conninfo),
          data(ex, opt.conninfo),
          side(ex, opt.conninfo),
          lease_(opt.lease),
          wake(ex),
          lease_wake(ex),
          data_sleep(ex) {
        wake.expires_at(asio::steady_timer::time_point::max());
        // A random incarnation per start: a restarted daemon waits out its predecessor's lease
        // like any other node (the predecessor may be hung, not dead), unless it was released.
        std::random_device rd;
        holder = fmt::format("{}/{:08x}", opt.node, rd());
    }

    asio::any_io_executor executor;
    store::store& st;
    node_options opt;
    std::string holder;  // tp_lease.holder: "node/incarnation"
    callbacks cb;
    core::logger log;
    pg_connection lease_conn;
    pg_connection data;
    pg_connection side;  // a follower's intents, one statement at a time (side_busy)
    lease lease_;
    write_buffer buf;
    asio::steady_timer wake;        // the data loop's: changes to write, a role change, stop
    asio::steady_timer lease_wake;  // the lease loop's sleeps (and start-up's)
    asio::steady_timer data_sleep;  // the data loop's backoff sleeps
    state role = state::follower;
    bool stopping = false;
    bool wake_pending = false;

    // what the status reports
    std::string leader_name;          // the holder the last refusal named (or this node)
    core::sys_time leader_expires{};  // its expiry (database clock)
    std::uint64_t leader_epoch = 0;
    bool write_failing = false;
    time_point write_failing_since{};
    time_point last_trim{};
    std::string write_error;
    std::uint64_t transactions = 0;
    std::uint64_t written_changes = 0;
    std::uint64_t write_failures = 0;
    std::uint64_t applied_changes = 0;
    std::int64_t lag_ms = 0;
    bool follow_ok = false;  // the last fetch succeeded
    time_point last_follow_ok{};
    time_point became_leader_at{};
    std::uint64_t catchup_changes = 0;
    // intents
    bool intents_due = true;  // leader: scan tp_intents at the next turn
    time_point last_intent_scan{};
    std::set<std::string> taking;  // leader: intents handed to the daemon
    bool side_busy = false;        // follower: `side` is in use
    std::deque<std::shared_ptr<asio::steady_timer>> side_waiters;

    void poke() {
        if (wake_pending) return;
        wake_pending = true;
        wake.cancel();
    }

    asio::awaitable<void> sleep(asio::steady_timer& t, duration d) {
        t.expires_after(d);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

    // After every (re)connect: timestamps in UTC for parse_pg_timestamp, and the channel.
    asio::awaitable<pg_outcome<void>> connect(pg_connection& c, std::string_view channel,
                                              milliseconds timeout,
                                              std::string_view channel2 = {}) {
        auto r = co_await c.async_connect(timeout);
        if (!r) co_return r;
        auto set = co_await c.async_exec("SET TimeZone = 'UTC'", {}, timeout);
        if (!set) co_return set.error();
        for (auto ch : {channel, channel2}) {
            if (ch.empty()) continue;
            auto l = co_await c.async_exec(fmt::format("LISTEN {}", ch), {}, timeout);
            if (!l) co_return l.error();
        }
        co_return pg_outcome<void>{};
    }

    // ---- start-up

    asio::awaitable<core::result<void>> open() {
        auto give_up = std::chrono::steady_clock::now() + opt.connect_patience;
        auto delay = milliseconds(100);
        for (;;) {
            auto r = co_await connect(data, "", opt.statement_timeout);
            if (r) break;
            if (std::chrono::steady_clock::now() + delay >= give_up) {
                co_return core::error{
                    fmt::format("cannot reach the ledger's database: {}", r.error().message),
                    core::error_kind::unavailable};
            }
            log.warn("ledger: cannot reach the database yet ({}); retrying", r.error().message);
            co_await sleep(lease_wake, delay);
            delay = std::min(delay * 2, milliseconds(2000));
        }
        auto m = co_await async_migrate(data, schema_scripts());
        if (!m) co_return core::error{"ledger schema migration failed: " + m.error().message};
        if (!m->applied.empty()) {
            log.info("ledger: schema migrated from version {} to {}", m->from_version,
                     m->to_version);
        }
        // (Statements built outside co_await: GCC 12 miscompiles brace lists holding string
        // literals inside a co_await expression.)
        std::vector<pg_statement> create{{std::string(lease_sql::ensure_row), {opt.ledger}},
                                         {std::string(create_state_sql), {opt.ledger}}};
        auto rows = co_await data.async_pipeline(std::move(create), opt.statement_timeout);
        if (!rows)
            co_return core::error{"ledger: creating its rows failed: " + rows.error().message};
        if (auto r = co_await load(); !r) co_return r.error();
        if (auto r =
                co_await connect(lease_conn, lease_channel, opt.statement_timeout, intents_channel);
            !r) {
            co_return core::error{"ledger: the lease connection failed: " + r.error().message};
        }
        if (auto l = co_await data.async_exec(fmt::format("LISTEN {}", changes_channel), {},
                                              opt.statement_timeout);
            !l) {
            co_return core::error{"ledger: LISTEN failed: " + l.error().message};
        }
        co_return core::result<void>{};
    }

    // The current state, as of one snapshot of the database, into the empty store.
    asio::awaitable<core::result<void>> load() {
        std::vector<pg_statement> read{{std::string(snapshot_sql), {}},
                                       {std::string(last_seq_sql), {opt.ledger}},
                                       {std::string(load_batches_sql), {opt.ledger}},
                                       {std::string(load_tasks_sql), {opt.ledger}}};
        auto r = co_await data.async_transaction(
            std::move(read), std::max(opt.statement_timeout, milliseconds(120000)));
        if (!r)
            co_return core::error{"ledger: loading the current state failed: " + r.error().message};
        auto& res = *r;
        std::uint64_t last = res[1].rows() ? res[1].get_int(0, 0).value_or(0) : 0;
        st.reserve_for_restore(res[2].rows(), res[3].rows());
        for (int table : {2, 3}) {
            for (int i = 0; i < res[table].rows(); ++i) {
                auto rec = from_hex(res[table].get(i, 0));
                if (!rec) co_return core::error{"ledger: a stored record is not hex"};
                if (auto a = restore_record(*rec, true); !a) co_return a.error();
            }
        }
        st.finish_restore(last);
        log.info("ledger {}: {} batches and {} tasks loaded at seq {}", opt.ledger, res[2].rows(),
                 res[3].rows(), last);
        co_return core::result<void>{};
    }

    // One journal record into the store: restored (load) or applied as change `c` (follower).
    core::result<void> restore_record(std::string_view bytes, bool fresh,
                                      const store::change* c = nullptr) {
        auto f = store::read_journal_frame(bytes, 0);
        if (f.status != store::frame_status::ok || f.size != bytes.size()) {
            return core::error{"ledger: a stored record is damaged"};
        }
        using t = store::journal_record_type;
        switch (f.type) {
            case t::batch: {
                auto b = store::decode_batch_record(f.payload);
                if (!b) return b.error();
                return c ? st.apply_replicated_batch(*c, std::move(*b))
                         : st.restore_batch(std::move(*b), fresh);
            }
            case t::task: {
                auto k = store::decode_task_record(f.payload);
                if (!k) return k.error();
                return c ? st.apply_replicated_task(*c, std::move(*k))
                         : st.restore_task(std::move(*k), fresh);
            }
            case t::batch_expired: {
                auto e = store::decode_batch_expired_record(f.payload);
                if (!e) return e.error();
                if (!c) return core::error{"ledger: an expiry in the current state"};
                return st.apply_replicated_batch_expiry(*c, e->batch_id);
            }
            case t::task_expired: {
                auto e = store::decode_task_expired_record(f.payload);
                if (!e) return e.error();
                if (!c) return core::error{"ledger: an expiry in the current state"};
                return st.apply_replicated_task_expiry(*c, e->key);
            }
            case t::snapshot_end:
                break;
        }
        return core::error{"ledger: an unexpected record type"};
    }

    // ---- replication: changes after the store's seq, applied in order. Returns how many, or
    // an error (the connection is then closed and reopened by the caller).
    asio::awaitable<pg_outcome<std::size_t>> fetch_and_apply() {
        std::vector<pg_param> params{opt.ledger, std::to_string(st.seq()),
                                     std::to_string(fetch_limit)};
        auto r =
            co_await data.async_exec(fetch_changes_sql, std::move(params), opt.statement_timeout);
        if (!r) co_return r.error();
        co_return apply_rows(*r);
    }

    // Applies fetched tp_changes rows in order. A row that cannot be applied ends the daemon
    // (it throws): the replica would otherwise silently diverge; a restart reloads it.
    std::size_t apply_rows(const pg_result& r) {
        std::size_t n = 0;
        for (int i = 0; i < r.rows(); ++i) {
            auto seq = r.get_int(i, 0);
            auto kind = parse_kind(r.get(i, 1));
            auto rec = from_hex(r.get(i, 4));
            if (!seq || !kind || !rec) {
                throw std::runtime_error("ledger: a malformed row in tp_changes");
            }
            if (static_cast<std::uint64_t>(*seq) != st.seq() + 1) {
                // Trimmed past this node, or a hand edit: the replica cannot continue.
                throw std::runtime_error(fmt::format(
                    "ledger: tp_changes jumps from seq {} to {}: this node must reload (restart)",
                    st.seq(), *seq));
            }
            const std::string state(r.get(i, 3));
            const store::change c{static_cast<std::uint64_t>(*seq), *kind, std::string(r.get(i, 2)),
                                  state};
            if (auto a = restore_record(*rec, false, &c); !a) {
                throw std::runtime_error(fmt::format("ledger: change {} cannot be applied: {}",
                                                     *seq, a.error().message));
            }
            lag_ms = r.get_int(i, 5).value_or(0);
            ++n;
        }
        if (r.rows() == 0) lag_ms = 0;  // caught up
        applied_changes += n;
        return n;
    }

    // ---- the lease loop

    void check_role(time_point now) {
        auto r = lease_.role(now);
        if (r == lease_role::leader && role == state::follower) {
            role = state::becoming_leader;
            leader_epoch = lease_.epoch();
            leader_name = opt.node;
            became_leader_at = now;
            log.info("ledger {}: this node ({}) won the lease, epoch {}; catching up", opt.ledger,
                     opt.node, leader_epoch);
            poke();
        } else if (r != lease_role::leader &&
                   (role == state::becoming_leader || role == state::leader)) {
            lose(r == lease_role::fenced
                     ? fmt::format("the lease of epoch {} ran out before a renewal came back "
                                   "(self-fenced)",
                                   lease_.epoch())
                     : fmt::format("the lease of epoch {} was lost (another node holds it)",
                                   lease_.epoch()));
        }
    }

    void lose(const std::string& why) {
        if (role == state::lost || role == state::stopped) return;
        role = state::lost;
        log.error("ledger {}: {}; this node stops submitting and polling", opt.ledger, why);
        buf.fail("this taskpollerd lost the ledger's lease before the change was committed");
        poke();
        if (cb.on_lost) asio::post(executor, [f = cb.on_lost, why] { f(why); });
    }

    asio::awaitable<void> lease_loop() {
        while (!stopping) {
            auto now = boottime_now();
            check_role(now);
            if (role == state::lost) break;
            auto a = lease_.next_action(now);
            if (a.what == lease_action::kind::wait) {
                auto until = a.until;
                if (lease_.role(now) == lease_role::leader)
                    until = std::min(until, lease_.local_deadline());
                auto wait = std::clamp(ms(until - now), milliseconds(1), milliseconds(1000));
                if (!lease_conn.connected()) {
                    co_await sleep(lease_wake, wait);
                    continue;
                }
                auto n = co_await lease_conn.async_wait_notification(wait);
                if (n && n->channel == intents_channel) {
                    intents_due = true;
                    if (role == state::leader) poke();
                } else if (n) {
                    lease_.on_notify(boottime_now());
                }
                continue;
            }
            const auto kind = a.what == lease_action::kind::send_acquire ? lease_request::acquire
                                                                         : lease_request::renew;
            const auto timeout = lease_timeout_ms();
            if (!lease_conn.connected()) {
                auto c = co_await connect(lease_conn, lease_channel, timeout, intents_channel);
                if (!c) {
                    auto id = lease_.on_sent(kind, boottime_now());
                    lease_.on_error(id, boottime_now());
                    log.warn("ledger {}: lease connection: {}", opt.ledger, c.error().message);
                    continue;
                }
                continue;  // the time spent connecting: ask next_action again
            }
            const auto epoch = lease_.epoch();
            auto id = lease_.on_sent(kind, boottime_now());
            std::vector<pg_param> params{opt.ledger, holder};
            if (kind == lease_request::renew) params.emplace_back(std::to_string(epoch));
            params.emplace_back(interval_of(lease_.options().ttl));
            auto r = co_await lease_conn.async_exec(
                kind == lease_request::acquire ? lease_sql::acquire : lease_sql::renew,
                std::move(params), timeout);
            if (!r) {
                lease_.on_error(id, boottime_now());
                log.warn("ledger {}: lease {}: {}", opt.ledger, to_string(kind), r.error().message);
                continue;
            }
            if (r->rows() == 1) {
                auto e = r->get_int(0, 0);
                auto exp = parse_pg_timestamp(r->get(0, 1));
                auto dbnow = parse_pg_timestamp(r->get(0, 2));
                if (!e || !exp || !dbnow) {
                    lease_.on_error(id, boottime_now());
                    log.error("ledger {}: unreadable lease answer", opt.ledger);
                    continue;
                }
                lease_.on_granted(id, static_cast<std::uint64_t>(*e), *exp, *dbnow, boottime_now());
                leader_expires = *exp;
                continue;
            }
            // Refused: who holds it, until when.
            // (Arguments built outside co_await: GCC 12 rejects an initializer list's array
            // inside a co_await expression.)
            std::vector<pg_param> which{opt.ledger};
            auto row = co_await lease_conn.async_exec(lease_sql::read, std::move(which), timeout);
            std::optional<core::sys_time> exp, dbnow;
            std::optional<std::int64_t> e;
            if (row && row->rows() == 1) {
                e = row->get_int(0, 1);
                exp = parse_pg_timestamp(row->get(0, 2));
                dbnow = parse_pg_timestamp(row->get(0, 3));
            }
            if (!e || !exp || !dbnow) {
                lease_.on_error(id, boottime_now());
                continue;
            }
            leader_name = node_of(row->get(0, 0));
            leader_expires = *exp;
            lease_.on_refused(id, leader_name, static_cast<std::uint64_t>(*e), *exp, *dbnow,
                              boottime_now());
        }
    }

    duration lease_timeout() const {
        auto t = lease_.options().request_timeout;
        return t.count() > 0 ? t : lease_.options().ttl / 3;
    }
    milliseconds lease_timeout_ms() const { return ms(lease_timeout()); }

    // ---- the data loop

    asio::awaitable<void> data_loop() {
        auto delay = milliseconds(100);
        auto backoff = [&]() -> asio::awaitable<void> {
            co_await sleep(data_sleep, delay);
            delay = std::min(delay * 2, milliseconds(2000));
        };
        time_point last_fetch{};
        while (!stopping && role != state::stopped) {
            if (!data.connected() && role != state::lost) {
                auto c = co_await connect(
                    data, role == state::follower ? changes_channel : std::string_view{},
                    opt.statement_timeout);
                if (!c) {
                    follow_ok = false;
                    write_failing = role == state::leader;
                    write_error = c.error().message;
                    log.warn("ledger {}: data connection: {}", opt.ledger, c.error().message);
                    co_await backoff();
                    continue;
                }
                last_fetch = {};
            }
            switch (role) {
                case state::follower: {
                    auto now = boottime_now();
                    if (now - last_fetch >= opt.follow_poll) {
                        auto n = co_await fetch_and_apply();
                        last_fetch = boottime_now();
                        if (!n) {
                            follow_ok = false;
                            log.warn("ledger {}: reading changes: {}", opt.ledger,
                                     n.error().message);
                            co_await backoff();
                            continue;
                        }
                        follow_ok = true;
                        last_follow_ok = last_fetch;
                        delay = milliseconds(100);
                        if (*n == static_cast<std::size_t>(fetch_limit)) continue;
                    }
                    // Woken by a NOTIFY (fetch at once) or every 50 ms to notice a won lease.
                    auto n = co_await data.async_wait_notification(milliseconds(50));
                    if (n) last_fetch = {};
                    break;
                }
                case state::becoming_leader: {
                    auto n = co_await fetch_and_apply();
                    if (!n) {
                        log.warn("ledger {}: catching up: {}", opt.ledger, n.error().message);
                        co_await backoff();
                        continue;
                    }
                    catchup_changes += *n;
                    if (*n == static_cast<std::size_t>(fetch_limit)) continue;
                    if (role != state::becoming_leader) continue;  // lost meanwhile
                    (void)co_await data.async_exec(fmt::format("UNLISTEN {}", changes_channel), {},
                                                   opt.statement_timeout);
                    buf.reset_committed(st.seq());
                    role = state::leader;
                    log.info(
                        "ledger {}: leader of epoch {} at seq {} ({} changes caught up, "
                        "{} ms after the grant)",
                        opt.ledger, leader_epoch, st.seq(), catchup_changes,
                        ms(boottime_now() - became_leader_at).count());
                    if (cb.on_leader) cb.on_leader(leader_epoch);
                    break;
                }
                case state::leader: {
                    if (intents_due || boottime_now() - last_intent_scan >= seconds(1)) {
                        if (!co_await scan_intents()) {
                            co_await backoff();
                            continue;
                        }
                    }
                    if (buf.pending() == 0) {
                        wake_pending = false;
                        wake.expires_after(seconds(1));  // the periodic intent scan
                        boost::system::error_code ec;
                        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                        wake_pending = false;
                        break;
                    }
                    auto t = buf.next_transaction(opt.ledger, holder, leader_epoch,
                                                  opt.max_changes_per_transaction);
                    auto r = co_await data.async_transaction(std::move(t.statements),
                                                             opt.statement_timeout);
                    if (role != state::leader) break;
                    if (r) {
                        buf.committed(t);
                        if (boottime_now() - last_trim >= seconds(60) && st.seq() > trim_keep) {
                            last_trim = boottime_now();
                            buf.add_statement({std::string(trim_changes_sql),
                                               {opt.ledger, std::to_string(st.seq() - trim_keep)}});
                        }
                        ++transactions;
                        written_changes += t.changes;
                        if (write_failing) log.info("ledger {}: writing again", opt.ledger);
                        write_failing = false;
                        delay = milliseconds(100);
                        break;
                    }
                    if (r.error().sqlstate == fenced_sqlstate) {
                        lose("the ledger refused a write of epoch " + std::to_string(leader_epoch) +
                             ": " + r.error().message);
                        break;
                    }
                    ++write_failures;
                    if (!write_failing) write_failing_since = boottime_now();
                    if (boottime_now() - write_failing_since > lease_.options().ttl) {
                        // The lease renews but nothing commits (a change the database refuses,
                        // a transaction too big to finish): hand over rather than hold every
                        // submission at 503. What was not committed was never acknowledged.
                        lose(
                            fmt::format("writes to the ledger have failed for {} s ({}); "
                                        "handing the lease over",
                                        ms(boottime_now() - write_failing_since).count() / 1000,
                                        r.error().message));
                        break;
                    }
                    if (!write_failing) {
                        log.error(
                            "ledger {}: writing {} changes failed ({}); retrying, "
                            "submissions refused meanwhile",
                            opt.ledger, t.changes, r.error().message);
                    }
                    write_failing = true;
                    write_error = r.error().message;
                    co_await backoff();
                    break;
                }
                case state::lost:
                case state::stopped: {
                    wake.expires_at(asio::steady_timer::time_point::max());
                    boost::system::error_code ec;
                    co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    break;
                }
            }
        }
    }

    // Leader: hands every open intent not already handed out to the daemon. False on an error
    // (the connection is then reopened by the loop).
    asio::awaitable<bool> scan_intents() {
        intents_due = false;
        last_intent_scan = boottime_now();
        if (!cb.on_intent) co_return true;
        std::vector<pg_param> which{opt.ledger};
        auto r =
            co_await data.async_exec(open_intents_sql, std::move(which), opt.statement_timeout);
        if (!r) {
            log.warn("ledger {}: reading intents: {}", opt.ledger, r.error().message);
            co_return false;
        }
        for (int i = 0; i < r->rows() && role == state::leader; ++i) {
            intent_row row{std::string(r->get(i, 0)), std::string(r->get(i, 1)),
                           std::string(r->get(i, 3)), std::string(r->get(i, 2))};
            if (!taking.insert(row.client_token).second) continue;
            cb.on_intent(std::move(row));
        }
        co_return true;
    }

    // The follower's intent connection: one statement at a time, in arrival order.
    asio::awaitable<void> lock_side() {
        while (side_busy) {
            auto t = std::make_shared<asio::steady_timer>(executor);
            t->expires_at(asio::steady_timer::time_point::max());
            side_waiters.push_back(t);
            boost::system::error_code ec;
            co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        side_busy = true;
    }
    void unlock_side() {
        side_busy = false;
        if (!side_waiters.empty()) {
            side_waiters.front()->cancel();
            side_waiters.pop_front();
        }
    }
    // Runs one statement on `side`, connecting first when needed.
    asio::awaitable<core::result<pg_result>> on_side(std::string_view sql,
                                                     std::vector<pg_param> params) {
        co_await lock_side();
        core::scope_exit unlock([this] { unlock_side(); });
        if (!side.connected()) {
            if (auto c = co_await connect(side, {}, opt.statement_timeout); !c) {
                co_return core::error{"the ledger's database is unreachable: " + c.error().message,
                                      core::error_kind::unavailable};
            }
        }
        auto r = co_await side.async_exec(sql, std::move(params), opt.statement_timeout);
        if (!r) {
            co_return core::error{"the ledger refused or lost a statement: " + r.error().message,
                                  core::error_kind::unavailable};
        }
        co_return std::move(*r);
    }

    asio::awaitable<core::result<intent_row>> record_intent(intent_row r) {
        std::vector<pg_param> ins{opt.ledger, r.client_token, r.batch_id,
                                  r.request,  r.fingerprint,  opt.node};
        auto done = co_await on_side(record_intent_sql, std::move(ins));
        if (!done) co_return done.error();
        std::vector<pg_param> note{std::string(intents_channel), opt.ledger};
        (void)co_await on_side("SELECT pg_notify($1, $2)", std::move(note));
        std::vector<pg_param> which{opt.ledger, r.client_token};
        auto row = co_await on_side(read_intent_sql, std::move(which));
        if (!row) co_return row.error();
        if (row->rows() != 1) {
            co_return core::error{"the intent vanished from the ledger",
                                  core::error_kind::unavailable};
        }
        r.batch_id = std::string(row->get(0, 0));
        r.fingerprint = std::string(row->get(0, 1));
        co_return r;
    }

    asio::awaitable<core::result<std::pair<std::string, std::string>>> intent_status(
        std::string token) {
        std::vector<pg_param> which{opt.ledger, std::move(token)};
        auto row = co_await on_side(read_intent_sql, std::move(which));
        if (!row) co_return row.error();
        if (row->rows() != 1) co_return core::error{"no such intent", core::error_kind::not_found};
        std::pair<std::string, std::string> out{std::string(row->get(0, 2)),
                                                std::string(row->get(0, 3))};
        co_return out;
    }

    asio::awaitable<void> stop() {
        if (stopping) co_return;
        if (role == state::leader && buf.pending() > 0) {
            // The data loop writes what is buffered; wait for it (bounded).
            struct wait_state {
                explicit wait_state(asio::any_io_executor ex) : t(std::move(ex)) {}
                bool done = false;
                asio::steady_timer t;
            };
            auto w = std::make_shared<wait_state>(executor);  // the callback may outlive us
            w->t.expires_after(std::chrono::seconds(5));
            buf.when_durable(buf.last_seq(), [w](core::result<void>) {
                w->done = true;
                w->t.cancel();
            });
            if (!w->done) {
                boost::system::error_code ec;
                co_await w->t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        }
        const bool release =
            role == state::leader && lease_.may_send(boottime_now()) && buf.pending() == 0;
        stopping = true;
        poke();  // the data loop leaves its wait and ends: the connection is ours
        if (release && data.connected()) {
            // Hand over at once instead of after the ttl (the lease connection may be inside
            // its wait for a notification).
            std::vector<pg_param> mine{opt.ledger, holder, std::to_string(leader_epoch)};
            auto r =
                co_await data.async_exec(lease_sql::release, std::move(mine), lease_timeout_ms());
            if (r) {
                std::vector<pg_param> notify{std::string(lease_channel), opt.ledger};
                (void)co_await data.async_exec("SELECT pg_notify($1, $2)", std::move(notify),
                                               lease_timeout_ms());
                log.info("ledger {}: lease of epoch {} released", opt.ledger, leader_epoch);
            }
        }
        shut();
    }

    void shut() {
        stopping = true;
        if (role != state::lost) role = state::stopped;
        buf.fail("taskpollerd is stopping");
        lease_conn.close();
        data.close();
        side.close();
        wake.cancel();
        lease_wake.cancel();
        data_sleep.cancel();
    }
};

node::node(asio::any_io_executor ex, store::store& st, node_options o, callbacks cb,
           core::logger log)
    : impl_(
          std::make_shared<impl>(std::move(ex), st, std::move(o), std::move(cb), std::move(log))) {}

node::~node() {
    impl_->shut();
}

asio::awaitable<core::result<void>> node::async_open() {
    auto self = impl_;
    co_return co_await self->open();
}

asio::awaitable<void> node::run_lease() {
    auto self = impl_;
    co_await self->lease_loop();
}

asio::awaitable<void> node::run_data() {
    auto self = impl_;
    co_await self->data_loop();
}

asio::awaitable<void> node::async_stop() {
    auto self = impl_;
    co_await self->stop();
}

asio::awaitable<core::result<intent_row>> node::async_record_intent(intent_row r) {
    auto self = impl_;
    co_return co_await self->record_intent(std::move(r));
}

asio::awaitable<core::result<std::pair<std::string, std::string>>> node::async_intent_status(
    std::string client_token) {
    auto self = impl_;
    co_return co_await self->intent_status(std::move(client_token));
}

void node::intent_refused(const std::string& client_token, const std::string& why) {
    auto& m = *impl_;
    if (m.role != impl::state::leader) return;
    m.buf.add_statement({std::string(refuse_intent_sql), {m.opt.ledger, client_token, why}});
    m.poke();
}

void node::intent_taken(const std::string& client_token, const std::string& batch_id) {
    auto& m = *impl_;
    if (m.role != impl::state::leader) return;
    m.buf.add_statement({std::string(take_intent_sql), {m.opt.ledger, client_token, batch_id}});
    m.poke();
}

void node::intent_finished(const std::string& client_token) {
    impl_->taking.erase(client_token);
}

bool node::is_follower() const noexcept {
    return impl_->role == impl::state::follower || impl_->role == impl::state::becoming_leader;
}

void node::abandon() {
    impl_->shut();
}

bool node::may_send() const noexcept {
    return impl_->role == impl::state::leader && impl_->lease_.may_send(boottime_now());
}

bool node::is_leader() const noexcept {
    return impl_->role == impl::state::leader;
}

core::result<void> node::writable() const {
    const auto& m = *impl_;
    switch (m.role) {
        case impl::state::leader:
            if (m.write_failing) {
                return core::error{
                    "the ledger is not accepting writes (" + m.write_error + "); retrying",
                    core::error_kind::unavailable};
            }
            return {};
        case impl::state::follower:
        case impl::state::becoming_leader:
            return core::error{
                fmt::format("this taskpollerd ({}) is a follower of ledger {}: submit, adopt and "
                            "cancel on the leader{}",
                            m.opt.node, m.opt.ledger,
                            m.leader_name.empty() || m.leader_name == m.opt.node
                                ? std::string()
                                : " (" + m.leader_name + ")"),
                core::error_kind::unavailable};
        case impl::state::lost:
        case impl::state::stopped:
            break;
    }
    return core::error{"this taskpollerd lost the ledger's lease and is restarting",
                       core::error_kind::unavailable};
}

boost::json::object node::status() const {
    const auto& m = *impl_;
    auto now = boottime_now();
    const char* role = "follower";
    switch (m.role) {
        case impl::state::leader:
            role = "leader";
            break;
        case impl::state::becoming_leader:
            role = "follower";  // until caught up
            break;
        case impl::state::lost:
            role = "fenced";
            break;
        case impl::state::stopped:
            role = "stopped";
            break;
        case impl::state::follower:
            break;
    }
    boost::json::object o{{"backend", "postgres"},
                          {"role", role},
                          {"node", m.opt.node},
                          {"ledger", m.opt.ledger},
                          {"epoch", m.role == impl::state::leader ? m.leader_epoch : 0},
                          {"leader", m.leader_name},
                          {"seq", m.st.seq()}};
    if (m.role == impl::state::leader) {
        o["lease_expires_in_ms"] =
            std::max<std::int64_t>(0, ms(m.lease_.local_deadline() - now).count());
        o["pending_changes"] = m.buf.pending();
        o["writing"] = !m.write_failing;
        if (m.write_failing) o["write_error"] = m.write_error;
        o["stale"] = false;
    } else {
        bool stale = !m.follow_ok || now - m.last_follow_ok > 3 * m.opt.follow_poll;
        o["stale"] = stale;
        o["lag_ms"] = m.lag_ms;
    }
    const auto& c = m.lease_.counters();
    o["counters"] = boost::json::object{{"terms", c.terms},
                                        {"grants", c.grants},
                                        {"refusals", c.refusals},
                                        {"lease_errors", c.errors},
                                        {"lost", c.lost},
                                        {"self_fenced", c.self_fenced},
                                        {"transactions", m.transactions},
                                        {"written_changes", m.written_changes},
                                        {"write_failures", m.write_failures},
                                        {"applied_changes", m.applied_changes}};
    return o;
}

void node::on_batch_change(const store::change& c, const core::batch& b) {
    auto& m = *impl_;
    if (m.role != impl::state::leader) {
        m.log.error("ledger: batch {} changed on a node that is not the leader (not written)",
                    b.id);
        return;
    }
    m.buf.add_batch(c, b);
    m.poke();
}

void node::on_task_change(const store::change& c, const core::task& t) {
    auto& m = *impl_;
    if (m.role != impl::state::leader) {
        m.log.error("ledger: task {} changed on a node that is not the leader (not written)",
                    core::format_task_key(t.service, t.request_id));
        return;
    }
    m.buf.add_task(c, t);
    m.poke();
}

void node::on_commit() {
    impl_->poke();
}

core::result<void> node::health() const {
    const auto& m = *impl_;
    if (m.role == impl::state::leader && m.write_failing) return writable();
    if (m.role == impl::state::lost) return writable();
    return {};
}

void node::when_durable(std::uint64_t seq, std::function<void(core::result<void>)> done) {
    auto& m = *impl_;
    switch (m.role) {
        case impl::state::leader:
        case impl::state::lost:
        case impl::state::stopped:
            return m.buf.when_durable(seq, std::move(done));
        case impl::state::follower:
        case impl::state::becoming_leader:
            // Everything a follower holds came from the ledger.
            return done({});
    }
}

}  // namespace taskpoller::ledger
