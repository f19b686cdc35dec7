// format_regex (regex.h): JSON-schema formats as patterns of the regex subset. Each pattern is a
// subset of what ajv-formats 3.0.1 "full" mode accepts (formats.js: date() checks the day
// against the month, getTime(true) demands a timezone, the rest are its regexes), so whatever a
// model writes under it passes ajv; tests/e2e/regex_formats.test.mjs checks samples with ajv.
#include <array>
#include <utility>

#include "engine/constrained/regex.h"

namespace toolgate::engine::constrained {

namespace {

// Months by length; February stops at 28 because leap years are not modelled.
#define TG_DATE                                                           \
  R"(\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-)" \
  R"((?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8])))"
// hh:mm:ss with seconds 00-59 (no leap second), optional fraction, a timezone always.
#define TG_TIME \
  R"((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))"
#define TG_IPV4_OCTET R"((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))"
// At most 48 characters, so five labels and four dots stay within ajv's 253.
#define TG_HOST_LABEL R"([A-Za-z0-9](?:[A-Za-z0-9-]{0,46}[A-Za-z0-9])?)"

constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kFormats = {{
    {"date", TG_DATE},
    {"time", TG_TIME},
    {"date-time", TG_DATE "T" TG_TIME},
    {"uuid", R"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"},
    {"email",
     R"([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+)"
     R"([A-Za-z]{2,})"},
    {"ipv4", "(?:" TG_IPV4_OCTET R"(\.){3})" TG_IPV4_OCTET},
    {"ipv6", R"((?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4})"},
    {"hostname", TG_HOST_LABEL R"((?:\.)" TG_HOST_LABEL "){0,4}"},
}};

#undef TG_DATE
#undef TG_TIME
#undef TG_IPV4_OCTET
#undef TG_HOST_LABEL

}  // namespace

std::optional<std::string_view> format_regex(std::string_view format) {
  for (const auto& [name, pattern] : kFormats) {
    if (name == format) return pattern;
  }
  return std::nullopt;
}

}  // namespace toolgate::engine::constrained
