#pragma once
// The PostgreSQL connection string (store.postgres.conninfo_file, issue 19): read from its own
// file, since it may hold the password, and never logged as is; redact_conninfo is the form
// logs and /v1/config may show.

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::ledger {

/// Reads a libpq connection string (keyword=value pairs or a postgresql:// URI) from `path`,
/// surrounding whitespace trimmed. Fails when the file cannot be read, is empty, or is not a
/// valid connection string; the message names the path, never the file's content.
core::result<std::string> read_conninfo_file(const std::string& path);

/// `conninfo` as keyword=value pairs (libpq's quoting) with the value of every secret option
/// (libpq marks them: password, sslpassword) replaced by "********". Options libpq does not
/// know are reported by read_conninfo_file; here an unparsable string prints as
/// "(invalid connection string)", never as itself.
std::string redact_conninfo(std::string_view conninfo);

}  // namespace taskpoller::ledger
