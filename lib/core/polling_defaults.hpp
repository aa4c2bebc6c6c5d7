#pragma once
// The default polling policy, in one place: the configuration's `polling` section
// (config/config.hpp) and the engine's scheduler, retry and CVM settings (engine/) both take
// their defaults from here, so a daemon without a `polling` section and an engine built with
// default options poll alike (docs/configuration.md "polling", docs/polling.md).

#include <chrono>

namespace taskpoller::core::polling_defaults {

inline constexpr std::chrono::seconds initial_delay{1};  ///< first poll after submission
inline constexpr std::chrono::seconds interval{2};       ///< first backoff step
inline constexpr double multiplier = 1.5;                ///< growth per round
inline constexpr std::chrono::seconds max_interval{30};  ///< backoff cap
inline constexpr std::chrono::hours timeout{1};          ///< a task unfinished then: timed_out
inline constexpr unsigned not_found_checks = 3;          ///< "no such task" answers → not_found
inline constexpr std::chrono::seconds settle_delay{10};  ///< CVM stale-read guard
/// The shortest poll setting a submission may ask for (its own "poll" object).
inline constexpr std::chrono::seconds min_interval{1};

}  // namespace taskpoller::core::polling_defaults
