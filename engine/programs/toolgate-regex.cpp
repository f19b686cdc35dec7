// toolgate-regex sample (--format NAME | --pattern P) [--count N] [--seed S]
// toolgate-regex match  (--format NAME | --pattern P)
// The regex DFA (engine/constrained/regex.h) from the outside, so another engine can judge it
// (tests/e2e/regex_formats.test.mjs holds it against ajv and JavaScript's RegExp):
//   sample: N strings from random walks through the DFA, one JSON string per line. A walk takes
//           random live transitions and a random code point of each, stops at an accepting
//           state with odds drawn per walk (1/2 to 1/64), and leans towards acceptance so it
//           always ends.
//   match:  reads one JSON string per line from stdin, prints 1 (fully matched) or 0 per line.
// A pattern the subset refuses prints the error on stderr and exits 1.
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/constrained/regex.h"
#include "engine/tokenizer/unicode.h"

using toolgate::engine::constrained::format_regex;
using toolgate::engine::constrained::Regex;

namespace {

// Transitions from each state to an accepting one, by breadth-first search backwards.
std::vector<uint32_t> distance_to_accept(const Regex& re) {
  const auto n = static_cast<uint32_t>(re.state_count());
  std::vector<std::vector<uint32_t>> into(n);
  for (uint32_t s = 0; s < n; ++s) {
    for (const auto& e : re.edges(s)) into[e.next].push_back(s);
  }
  std::vector<uint32_t> dist(n, UINT32_MAX);
  std::deque<uint32_t> queue;
  for (uint32_t s = 0; s < n; ++s) {
    if (re.accepting(s)) dist[s] = 0, queue.push_back(s);
  }
  while (!queue.empty()) {
    const uint32_t s = queue.front();
    queue.pop_front();
    for (uint32_t from : into[s]) {
      if (dist[from] == UINT32_MAX) dist[from] = dist[s] + 1, queue.push_back(from);
    }
  }
  return dist;
}

// A code point of [lo, hi]: near either end half the time (where the interesting boundaries
// are), anywhere in the range otherwise.
uint32_t pick_code_point(std::mt19937& rng, uint32_t lo, uint32_t hi) {
  const uint32_t span = hi - lo;
  if (span < 64) return lo + static_cast<uint32_t>(rng() % (span + 1));
  switch (rng() % 4) {
    case 0:
      return lo + static_cast<uint32_t>(rng() % 64);
    case 1:
      return hi - static_cast<uint32_t>(rng() % 64);
    default:
      return lo + static_cast<uint32_t>(rng() % (static_cast<uint64_t>(span) + 1));
  }
}

std::string sample(const Regex& re, const std::vector<uint32_t>& dist, std::mt19937& rng) {
  std::string out;
  uint32_t state = re.start();
  // Each walk its own stopping odds (1/2 .. 1/64), so short and long strings both come out.
  const uint32_t stop_odds = 2u << (rng() % 6);
  for (size_t steps = 0;; ++steps) {
    const auto edges = re.edges(state);
    if (re.accepting(state) && (edges.empty() || rng() % stop_odds == 0 || steps > 400)) {
      return out;
    }
    // Mostly a uniform edge; sometimes (always once long) one that gets closer to accepting.
    std::vector<const Regex::Edge*> closer;
    if (steps > 200 || rng() % 3 == 0) {
      for (const auto& e : edges) {
        if (dist[e.next] < dist[state]) closer.push_back(&e);
      }
    }
    const Regex::Edge& e =
        closer.empty() ? edges[rng() % edges.size()] : *closer[rng() % closer.size()];
    toolgate::engine::unicode::append_utf8(pick_code_point(rng, e.lo, e.hi), out);
    state = e.next;
  }
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s sample (--format NAME | --pattern P) [--count N] [--seed S]\n"
               "       %s match (--format NAME | --pattern P)   < JSON strings, one per line\n",
               argv0, argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage(argv[0]);
  const std::string mode = argv[1];
  std::string pattern;
  int count = 100;
  unsigned seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--pattern")) {
      pattern = argv[i + 1];
    } else if (!std::strcmp(argv[i], "--format")) {
      auto p = format_regex(argv[i + 1]);
      if (!p) {
        std::fprintf(stderr, "unsupported format '%s'\n", argv[i + 1]);
        return 1;
      }
      pattern = *p;
    } else if (!std::strcmp(argv[i], "--count")) {
      count = std::atoi(argv[i + 1]);
    } else if (!std::strcmp(argv[i], "--seed")) {
      seed = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
    } else {
      return usage(argv[0]);
    }
  }
  std::string error;
  auto re = Regex::compile(pattern, &error);
  if (!re) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  if (mode == "sample") {
    std::mt19937 rng(seed);
    const auto dist = distance_to_accept(*re);
    for (int i = 0; i < count; ++i)
      std::printf("%s\n", nlohmann::json(sample(*re, dist, rng)).dump().c_str());
    return 0;
  }
  if (mode == "match") {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      try {
        std::printf("%d\n", re->full_match(nlohmann::json::parse(line).get<std::string>()) ? 1 : 0);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bad input line (%s): %s\n", e.what(), line.c_str());
        return 1;
      }
    }
    return 0;
  }
  return usage(argv[0]);
}
