#pragma once
// ${VAR} references in config values, so secrets and per-host values stay out of the file.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::config {

struct EnvExpansion {
  std::string value;
  std::vector<std::string> errors;  // e.g. "environment variable 'OPENAI_KEY' is not set"
};

using EnvLookup = std::function<const char*(const char*)>;

// Replaces ${NAME} with the variable's value and ${NAME:-fallback} with the value, or the
// fallback when the variable is unset or empty (shell semantics). $${ is a literal ${.
// A set-but-empty variable expands to "" without error. NAME is [A-Za-z_][A-Za-z0-9_]*.
// Each unset variable is one error naming it; the value then holds the text as far as it went.
EnvExpansion expand_env(std::string_view text, const EnvLookup& lookup = {});

// Escapes text so that expand_env returns it unchanged (each ${ becomes $${).
std::string escape_env(std::string_view text);

}  // namespace toolgate::config
