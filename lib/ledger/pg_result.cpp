// pg_result and the errors of lib/ledger's PostgreSQL code (pg_error).
#include <charconv>
#include <cstdlib>
#include <stdexcept>

#include "ledger/pg_connection.hpp"
#include "ledger/pg_impl.hpp"

namespace taskpoller::ledger {

void throw_exception_from_error(const pg_error& e, const boost::source_location&) {
    throw std::runtime_error(e.sqlstate.empty() ? e.message : e.sqlstate + ": " + e.message);
}

// --- pg_result ---------------------------------------------------------------------------------

pg_result& pg_result::operator=(pg_result&& o) noexcept {
    if (this != &o) {
        if (r_ != nullptr) PQclear(r_);
        r_ = o.r_;
        o.r_ = nullptr;
    }
    return *this;
}

pg_result::~pg_result() {
    if (r_ != nullptr) PQclear(r_);
}

int pg_result::rows() const noexcept {
    return r_ != nullptr ? PQntuples(r_) : 0;
}
int pg_result::columns() const noexcept {
    return r_ != nullptr ? PQnfields(r_) : 0;
}

bool pg_result::is_null(int row, int column) const noexcept {
    return r_ == nullptr || row >= rows() || column >= columns() ||
           PQgetisnull(r_, row, column) != 0;
}

std::string_view pg_result::get(int row, int column) const noexcept {
    if (is_null(row, column)) return {};
    return {PQgetvalue(r_, row, column), static_cast<std::size_t>(PQgetlength(r_, row, column))};
}

std::optional<std::int64_t> pg_result::get_int(int row, int column) const noexcept {
    if (is_null(row, column)) return std::nullopt;
    auto text = get(row, column);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
}

std::uint64_t pg_result::affected_rows() const noexcept {
    if (r_ == nullptr) return 0;
    const char* n = PQcmdTuples(r_);
    return n != nullptr && *n != '\0' ? std::strtoull(n, nullptr, 10) : 0;
}

// --- errors ------------------------------------------------------------------------------------

std::string trimmed_message(const char* text) {
    std::string s = text != nullptr ? text : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    return s;
}

std::optional<pg_error> result_error(const PGresult* r, const PGconn* conn) {
    auto status = PQresultStatus(r);
    if (status != PGRES_FATAL_ERROR && status != PGRES_BAD_RESPONSE) return std::nullopt;
    pg_error e;
    if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) e.sqlstate = s;
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    e.message = trimmed_message(primary != nullptr ? primary : PQresultErrorMessage(r));
    e.connection_lost = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
    return e;
}

}  // namespace taskpoller::ledger
