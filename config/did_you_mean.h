#pragma once
// "Did you mean" suggestions for misspelt keys, flags and names.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::config {

// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, so the
// common typo "prot" is one edit from "port".
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` (compared case-insensitively), if it is close enough to be a
// plausible typo: at most 1 edit for words up to 4 characters, 2 up to 8, 3 beyond.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace toolgate::config
