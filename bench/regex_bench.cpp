// Compile cost of the regex DFA (engine/constrained/regex.h), paid once per schema at request
// start: microseconds per Regex::compile for every JSON-schema format, some typical `pattern`s,
// and the slowest shapes the caps still admit; plus the resulting state and edge counts and the
// cost of one step(). Prints one JSON object per line.
// Usage: regex_bench [--reps N]   (default 200; the large patterns run N/20 times)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/constrained/regex.h"

using toolgate::engine::constrained::format_regex;
using toolgate::engine::constrained::Regex;
using Clock = std::chrono::steady_clock;

namespace {

double load1() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

struct Case {
  std::string kind, name, pattern;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps")) reps = std::max(1, std::atoi(argv[i + 1]));
  }
  std::vector<Case> cases;
  for (const char* f : {"date", "time", "date-time", "uuid", "email", "ipv4", "ipv6", "hostname"}) {
    cases.push_back({"format", f, std::string(*format_regex(f))});
  }
  for (const char* p :
       {"^[A-Z]{3}-\\d{4}$", "^\\+?[1-9]\\d{1,14}$", "^[a-z0-9_-]{3,16}$",
        "^#?([a-fA-F0-9]{6}|[a-fA-F0-9]{3})$", "^v\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?$",
        "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$", "^(?:[A-Z][a-z]+ ){1,3}[A-Z][a-z]+$"}) {
    cases.push_back({"pattern", p, p});
  }
  // Near the caps: 1001 states of wide ranges; a DFA exponential in the NFA (1024 states, and
  // one refused at 2000); hundreds of NFA states live in every DFA state (the second refused by
  // the work limit).
  for (const char* p : {".{0,1000}", "(?:a|b)*a(?:a|b){9}", "(?:a|b)*a(?:a|b){12}", "(?:.?){300}",
                        "(?:a?b?c?d?e?f?g?h?i?j?){100}"}) {
    cases.push_back({"large", p, p});
  }

  for (const Case& c : cases) {
    const int n = c.kind == "large" ? std::max(1, reps / 20) : reps;
    std::string error;
    auto re = Regex::compile(c.pattern, &error);  // warm-up, and the sizes
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto r = Regex::compile(c.pattern, nullptr);
      if (r.has_value() != re.has_value()) return 1;
    }
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
    nlohmann::json out = {{"kind", c.kind}, {"name", c.name}, {"compile_us", us}, {"reps", n}};
    if (re) {
      size_t edges = 0;
      for (uint32_t s = 0; s < re->state_count(); ++s) edges += re->edges(s).size();
      out["states"] = re->state_count();
      out["edges"] = edges;
    } else {
      out["refused"] = error;
    }
    std::printf("%s\n", out.dump().c_str());
  }

  // One step() on a wide state: the cost the recognizer pays per code point.
  auto dt = Regex::compile(*format_regex("date-time"), nullptr);
  const std::string text = "2024-06-15T12:34:56.789+02:00";
  const int walks = reps * 1000;
  uint64_t sink = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < walks; ++i) {
    uint32_t s = dt->start();
    for (char ch : text) s = dt->step(s, static_cast<uint8_t>(ch));
    sink += s;
  }
  const double ns =
      std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / walks / text.size();
  std::printf("%s\n", nlohmann::json({{"kind", "step"},
                                      {"name", "date-time walk"},
                                      {"step_ns", ns},
                                      {"sink", sink % 7},
                                      {"load1", load1()}})
                          .dump()
                          .c_str());
  return 0;
}
