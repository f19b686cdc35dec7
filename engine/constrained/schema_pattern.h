#pragma once
// The seam between JSON-schema strings and the regex engine (regex.h): `pattern` texts and the
// regexes that stand for the supported `format`s, compiled for full matching.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace toolgate::engine::constrained {

class Regex;

// The regex for a `format` keyword, or nullopt when that format is not supported.
std::optional<std::string> format_pattern(std::string_view format);
// Null (and *error set) when the pattern is outside the supported regex subset.
std::shared_ptr<const Regex> compile_pattern(std::string_view pattern, std::string* error);

}  // namespace toolgate::engine::constrained
