#pragma once
// Batch ids: "b-" followed by 12 Crockford base32 characters (60 bits: a counter and random
// bits). 14 characters fit in std::string's small buffer; the store keys batches by the number.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace taskpoller::core {

inline constexpr std::uint64_t batch_id_mask = (std::uint64_t{1} << 60) - 1;

/// "b-" + 12 lower-case base32 characters of the low 60 bits of `value`.
std::string format_batch_id(std::uint64_t value);

/// Inverse of format_batch_id (accepts upper case too); nullopt for anything else.
std::optional<std::uint64_t> parse_batch_id(std::string_view text) noexcept;

/// Generates id values: a 28-bit counter in the high bits (so ids created in one run sort by
/// creation) and 32 random bits (so runs do not collide). Uniqueness against ids restored from a
/// journal is the caller's job (the store retries on collision).
class batch_id_generator {
  public:
    /// A fixed seed gives a reproducible sequence (tests); otherwise std::random_device seeds it.
    explicit batch_id_generator(std::optional<std::uint64_t> seed = std::nullopt);

    std::uint64_t next();

  private:
    std::mt19937_64 rng_;
    std::uint32_t counter_;
};

}  // namespace taskpoller::core
