#include "engine/constrained/schema_pattern.h"

#include "engine/constrained/regex.h"

namespace toolgate::engine::constrained {

std::optional<std::string> format_pattern(std::string_view format) {
  if (auto re = format_regex(format)) return std::string(*re);
  return std::nullopt;
}

std::shared_ptr<const Regex> compile_pattern(std::string_view pattern, std::string* error) {
  auto re = Regex::compile(pattern, error);
  if (!re) return nullptr;
  return std::make_shared<const Regex>(std::move(*re));
}

}  // namespace toolgate::engine::constrained
