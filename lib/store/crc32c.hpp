#pragma once
// CRC-32C (Castagnoli), the checksum of journal records. The SSE4.2 instruction is used when the
// CPU has it; otherwise a table-driven software loop. Both give identical results.

#include <cstdint>
#include <string_view>

namespace taskpoller::store {

/// CRC-32C of `data`, continuing from `crc` (pass the previous result to checksum in pieces;
/// 0 to start). crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) noexcept;

/// The portable software path alone (tests compare it with the accelerated one).
std::uint32_t crc32c_software(std::string_view data, std::uint32_t crc = 0) noexcept;

}  // namespace taskpoller::store
