#include "engine/constrained/schema_pattern.h"

namespace toolgate::engine::constrained {

// Until the regex engine is in, patterns and formats are reported unsupported (relaxed).
std::optional<std::string> format_pattern(std::string_view) { return std::nullopt; }

std::shared_ptr<const Regex> compile_pattern(std::string_view, std::string* error) {
  if (error) *error = "'pattern' is not supported yet";
  return nullptr;
}

}  // namespace toolgate::engine::constrained

#include "engine/constrained/string_pattern.h"

namespace toolgate::engine::constrained {

// Unreachable until patterns compile (no node has one).
uint32_t pattern_start(const Regex&) { return 0; }
bool pattern_accepting(const Regex&, uint32_t) { return false; }
bool pattern_feed_byte(const Regex&, uint32_t&, uint32_t&, uint64_t&, uint8_t) {
  return false;
}

}  // namespace toolgate::engine::constrained
