#pragma once
// Command discovery: the closest command to a mistyped word, and shell completion scripts
// generated from the CLI11 definition (so they list exactly the commands and options it has).

#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace taskpoller::ctl {

/// The values an option or positional accepts (its IsMember check), for completion.
struct option_choices {
    const CLI::Option* option = nullptr;
    std::vector<std::string> values{};
};

/// Levenshtein distance (insertions, deletions, substitutions; a swap of neighbours counts 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The word of `words` closest to `word`, or "" when none is close (more than a third of the
/// longer word, at least 2, differs).
std::string closest_word(std::string_view word, const std::vector<std::string>& words);

/// The completion script for `shell` ("bash", "zsh" or "fish") of `app`'s commands, their
/// options, and the values in `choices`.
std::string completion_script(const CLI::App& app, std::string_view shell,
                              const std::vector<option_choices>& choices);

}  // namespace taskpoller::ctl
