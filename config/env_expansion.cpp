#include "config/env_expansion.h"

#include <cctype>
#include <cstdlib>

namespace toolgate::config {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

EnvExpansion expand_env(std::string_view text, const EnvLookup& lookup) {
  EnvExpansion out;
  const EnvLookup get = lookup ? lookup : EnvLookup([](const char* n) { return std::getenv(n); });
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out.value += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.value += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.errors.push_back("unterminated '${' (missing '}'); write $${ for a literal ${");
      out.value.append(text.substr(i));
      break;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const size_t sep = inner.find(":-");
    const std::string name(inner.substr(0, sep));
    if (!valid_name(name)) {
      out.errors.push_back("invalid environment variable name '" + name + "' in '${" +
                           std::string(inner) + "}'");
    } else {
      const char* value = get(name.c_str());
      if (sep != std::string_view::npos) {
        out.value += (value && *value) ? std::string(value) : std::string(inner.substr(sep + 2));
      } else if (value) {
        out.value += value;
      } else {
        out.errors.push_back("environment variable '" + name + "' is not set");
      }
    }
    i = close + 1;
  }
  return out;
}

std::string escape_env(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') out += '$';
    out += text[i];
  }
  return out;
}

}  // namespace toolgate::config
