#pragma once
// Parsing and printing of the value syntaxes used in the configuration file: durations, byte
// sizes and octal file modes. Pure functions; error messages quote the input (never use these
// for secrets).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::config {

using duration = std::chrono::milliseconds;

/// Parses `500ms`, `2s`, `5m`, `1h`, `7d`, or combinations with the largest unit first
/// (`1m30s`, `1h30m`, `2s500ms`). A bare `0` is zero. Fails, with a message that quotes the
/// input and shows the accepted form, on: empty input, a sign, fractions, a missing or unknown
/// unit, units repeated or out of order, or a value beyond the range of int64 milliseconds.
core::result<duration> parse_duration(std::string_view text);

/// A form parse_duration reads back to the same value, largest unit first and hours as the
/// largest unit: `0s`, `250ms`, `2s500ms`, `1m30s`, `48h`.
std::string format_duration(duration d);

/// Parses a byte count: a plain integer (bytes) or one followed by `B`, `KiB`, `MiB`, `GiB`,
/// `TiB` (powers of 1024) or `KB`, `MB`, `GB`, `TB` (powers of 1000). Fails on signs,
/// fractions, unknown units and overflow.
core::result<std::uint64_t> parse_size(std::string_view text);

/// `8MiB` when the value is an exact multiple of a binary unit, else `<n>B`.
std::string format_size(std::uint64_t bytes);

/// Parses a permission mode written in octal, with or without a leading 0 (`0660`, `660`),
/// at most 0777 (no setuid, setgid or sticky bits). Fails on anything else.
core::result<unsigned> parse_file_mode(std::string_view text);

/// Four octal digits, as in `0660`.
std::string format_file_mode(unsigned mode);

}  // namespace taskpoller::config
