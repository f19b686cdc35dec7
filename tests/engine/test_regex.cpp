// The regex subset compiled to a DFA (engine/constrained/regex.h): every construct against
// hand-picked strings and against std::regex (ECMAScript, ^(?:pattern)$) on ASCII input, random
// strings and random patterns cross-checked the same way, the refusals with their offsets, the
// shape of the DFA (only live states, sorted disjoint edges, can_step_in agreeing with step),
// and the JSON-schema formats on known-good and known-bad strings.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "engine/constrained/regex.h"

using toolgate::engine::constrained::format_regex;
using toolgate::engine::constrained::Regex;

namespace {

Regex must_compile(std::string_view pattern) {
  std::string error;
  auto re = Regex::compile(pattern, &error);
  if (!re) ADD_FAILURE() << "'" << pattern << "' refused: " << error;
  return re ? std::move(*re) : *Regex::compile("x", nullptr);
}

// std::regex backtracks, exponentially on the nested ambiguous repetitions the random patterns
// produce; libstdc++ can run the same regex breadth-first (its __polynomial extension).
#ifdef __GLIBCXX__
constexpr auto kStdFlags = std::regex::ECMAScript | std::regex_constants::__polynomial;
#else
constexpr auto kStdFlags = std::regex::ECMAScript;
#endif

std::regex std_full_regex(const std::string& std_pattern) {
  return std::regex("^(?:" + std_pattern + ")$", kStdFlags);
}

bool std_full_match(const std::string& std_pattern, const std::string& text) {
  return std::regex_match(text, std_full_regex(std_pattern));
}

struct Case {
  std::string pattern;
  std::vector<std::string> accept, reject;
  std::string std_pattern = "";  // the same language for std::regex, when it lacks the syntax
};

// One row per construct of the documented subset.
const std::vector<Case>& construct_cases() {
  static const std::vector<Case> cases = {
      {"abc", {"abc"}, {"", "ab", "abcd", "xabc"}},
      {"^[A-Z]{3}-\\d{4}$", {"ABC-1234"}, {"AB-1234", "ABC-123", "abc-1234", "ABC1234"}},
      {".", {"a", " ", "\t", "~"}, {"", "\n", "\r", "ab"}},
      {"\\d\\D", {"1a", "9-"}, {"11", "a1", "1"}},
      {"\\w\\W", {"a-", "Z ", "_!", "0."}, {"ab", "-a", "__"}},
      {"\\s\\S", {" a", "\tb", "\n1", "\r-", "\x0b.", "\x0c:"}, {"ab", "  ", "a "}},
      {"\\.\\\\\\/\\-\\[\\]\\(\\)\\{\\}\\*\\+\\?\\|\\^\\$",
       {".\\/-[](){}*+?|^$"},
       {"a\\/-[](){}*+?|^$"}},
      {"\\n\\t\\r\\f\\v", {"\n\t\r\f\v"}, {"ntrfv", "\n\t\r\f"}},
      {"\\u0041\\x42\\u{43}", {"ABC"}, {"AB", "abc"}, "\\u0041\\x42C"},
      {"\\cJ", {"\n"}, {"J", "cJ"}, "\\n"},
      {"[abc]", {"a", "b", "c"}, {"d", "", "ab"}},
      {"[a-f0-3_]", {"a", "f", "0", "3", "_"}, {"g", "4", "-"}},
      {"[^a-c]", {"d", "-", " ", "\n"}, {"a", "b", "c", ""}},
      {"[\\d.-]", {"5", ".", "-"}, {"a", "x"}},
      {"[-a]", {"-", "a"}, {"b"}},
      {"[a-]", {"-", "a"}, {"b"}},
      {"[\\]\\\\\\[]", {"]", "\\", "["}, {"a"}},
      {"[\\w\\s]", {"a", " ", "_", "\t"}, {"-", "."}},
      {"[^\\d]", {"a", "-"}, {"0", "9"}},
      {"[\\b]", {"\b"}, {"b", "\\"}},
      {"[^]", {"a", "\n", "\r"}, {"", "ab"}, "[\\s\\S]"},
      {"a|[]b", {"a"}, {"b", ""}, "a|[^\\s\\S]b"},
      {"(ab)+", {"ab", "abab"}, {"", "a", "aba"}},
      {"(?:ab)*c", {"c", "abc", "ababc"}, {"ab", "abac"}},
      {"(?<year>\\d{2})-(?<m>x)", {"12-x"}, {"1-x", "123-x"}, "(\\d{2})-(x)"},
      {"cat|dog|", {"cat", "dog", ""}, {"ca", "catdog"}},
      {"a(b|c|)d", {"abd", "acd", "ad"}, {"abcd", "a"}},
      {"a*", {"", "a", "aaaa"}, {"b", "ab"}},
      {"a+", {"a", "aaa"}, {"", "b"}},
      {"ab?c", {"ac", "abc"}, {"abbc", "a"}},
      {"a{3}", {"aaa"}, {"aa", "aaaa"}},
      {"a{2,}", {"aa", "aaaaa"}, {"a", ""}},
      {"a{1,3}", {"a", "aa", "aaa"}, {"", "aaaa"}},
      {"a{0}b", {"b"}, {"ab"}},
      {"a{0,1000}", {"", "a", std::string(1000, 'a')}, {std::string(1001, 'a')}},
      {"a*?b+?c??d{1,2}?", {"bd", "aabcdd"}, {"ad", "bcddd"}},
      {"(a*)*b", {"b", "aab"}, {"a", ""}},
      {"(a|b)*abb", {"abb", "aababb"}, {"ab", "abba"}},
      {"^a|b$", {"a", "b"}, {"ab", ""}, "a|b"},
      {"^a$|^b$", {"a", "b"}, {"ab"}, "a|b"},
      {"^$", {""}, {"a"}, ""},
      {"x{2}(?:y|z){1,2}", {"xxy", "xxzy"}, {"xy", "xxyzy"}},
      {"\\0", {std::string(1, '\0')}, {"0"}, "\\x00"},
      {"/a/", {"/a/"}, {"a"}},
  };
  return cases;
}

TEST(Regex, EachConstructAcceptsAndRejectsAsEcmaScript) {
  for (const Case& c : construct_cases()) {
    SCOPED_TRACE("pattern " + c.pattern);
    const Regex re = must_compile(c.pattern);
    const std::string std_pattern = c.std_pattern.empty() ? c.pattern : c.std_pattern;
    for (const auto& s : c.accept) {
      EXPECT_TRUE(re.full_match(s)) << "should accept '" << s << "'";
      EXPECT_TRUE(std_full_match(std_pattern, s)) << "std::regex disagrees on '" << s << "'";
    }
    for (const auto& s : c.reject) {
      EXPECT_FALSE(re.full_match(s)) << "should reject '" << s << "'";
      EXPECT_FALSE(std_full_match(std_pattern, s)) << "std::regex disagrees on '" << s << "'";
    }
  }
}

TEST(Regex, NonAsciiLiteralsAndClassesWorkOnCodePoints) {
  const Regex re = must_compile("é+[α-ω]\\u{1F600}.");
  EXPECT_TRUE(re.full_match("ééβ😀x"));
  EXPECT_TRUE(re.full_match("éω😀€"));
  // '.' needs one more code point; e is not é; broken UTF-8; a surrogate pair escape.
  EXPECT_FALSE(re.full_match("éβ😀"));
  EXPECT_FALSE(re.full_match("eβ😀x"));
  EXPECT_FALSE(re.full_match("é\xce"));
  EXPECT_TRUE(must_compile("\\uD83D\\uDE00").full_match("😀"));
  // JS '.' stops at all four line terminators; \s knows the Unicode spaces.
  const Regex dot = must_compile(".");
  EXPECT_FALSE(dot.full_match("\u2028"));
  EXPECT_FALSE(dot.full_match("\u2029"));
  EXPECT_TRUE(dot.full_match("\u0085"));
  const Regex space = must_compile("\\s");
  for (const char* s : {"\u00a0", "\u1680", "\u2000", "\u200a", "\u202f", "\u3000", "\ufeff"}) {
    EXPECT_TRUE(space.full_match(s)) << s;
  }
  EXPECT_FALSE(space.full_match("\u200b"));
  EXPECT_FALSE(must_compile("\\S").full_match("\ufeff"));
  EXPECT_TRUE(must_compile("\\W").full_match("é"));
}

TEST(Regex, SurrogatesAreNeverInTheAlphabet) {
  const Regex any = must_compile("[^a]");
  EXPECT_EQ(any.step(any.start(), 0xD800), Regex::kDead);
  EXPECT_EQ(any.step(any.start(), 0xDFFF), Regex::kDead);
  EXPECT_NE(any.step(any.start(), 0xD7FF), Regex::kDead);
  EXPECT_NE(any.step(any.start(), 0xE000), Regex::kDead);
  EXPECT_FALSE(any.can_step_in(any.start(), 0xD800, 0xDFFF));
}

// Random strings over a small alphabet, against std::regex, for patterns whose languages
// overlap in tricky ways (ambiguous alternations, nested stars, counted repetition).
TEST(Regex, RandomStringsAgreeWithStdRegex) {
  const std::vector<std::string> patterns = {
      "(a|ab)(c|bcd)(d*)", "(a*b*)*c?",         "[ab]{2,4}-?\\d{0,2}", "(?:a|b)*a(?:a|b){2}",
      "a{2,3}(b|c{1,2})+", "[^a-]+|-a*",        "(?:ab|a)(?:bc|c)?",   "\\w+(?:-\\w+)*",
      "(1|0)*1(0|1)?",     "[a-c]*?b+?[ab-]??",
  };
  const std::string alphabet = "abc-01";
  std::mt19937 rng(1234);
  for (const auto& p : patterns) {
    SCOPED_TRACE("pattern " + p);
    const Regex re = must_compile(p);
    const std::regex ref = std_full_regex(p);
    int accepted = 0;
    for (int i = 0; i < 1500; ++i) {
      std::string s(rng() % 8, ' ');
      for (char& ch : s) ch = alphabet[rng() % alphabet.size()];
      const bool want = std::regex_match(s, ref);
      accepted += want;
      ASSERT_EQ(re.full_match(s), want) << "on '" << s << "'";
    }
    EXPECT_GT(accepted, 0) << "the sample never hit the language";
  }
}

// Random patterns from a small grammar over {a, b}, against std::regex on every string of
// length <= 6 over {a, b, c}.
std::string random_pattern(std::mt19937& rng, int depth) {
  const int pick = static_cast<int>(rng() % (depth > 2 ? 3 : 9));
  std::string atom;
  switch (pick) {
    case 0:
      atom = "a";
      break;
    case 1:
      atom = "b";
      break;
    case 2:
      atom = rng() % 2 ? "[ab]" : "[^a]";
      break;
    case 3:
    case 4:  // a concatenation takes no quantifier of its own (it would bind to the end)
      return random_pattern(rng, depth + 1) + random_pattern(rng, depth + 1);
    case 5:
    case 6:
      atom = "(?:" + random_pattern(rng, depth + 1) + "|" + random_pattern(rng, depth + 1) + ")";
      break;
    default:
      atom = "(" + random_pattern(rng, depth + 1) + ")";
  }
  static const char* kQuantifiers[] = {"", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}", "{2,}"};
  return atom + kQuantifiers[rng() % 10];
}

TEST(Regex, RandomPatternsAgreeWithStdRegexOnAllShortStrings) {
  std::vector<std::string> strings = {""};
  for (size_t begin = 0, len = 1; len <= 6; ++len) {
    const size_t end = strings.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : {'a', 'b', 'c'}) strings.push_back(strings[i] + c);
    }
    begin = end;
  }
  std::mt19937 rng(42);
  int nonempty = 0;
  for (int n = 0; n < 300; ++n) {
    const std::string p = random_pattern(rng, 0);
    std::string error;
    auto re = Regex::compile(p, &error);
    const std::regex ref = std_full_regex(p);
    if (!re) {
      // Only an empty language may be refused; std::regex must then match nothing.
      ASSERT_NE(error.find("matches no string"), std::string::npos) << p << ": " << error;
      for (const auto& s : strings) ASSERT_FALSE(std::regex_match(s, ref)) << p << " on " << s;
      continue;
    }
    bool any = false;
    for (const auto& s : strings) {
      const bool want = std::regex_match(s, ref);
      any |= want;
      ASSERT_EQ(re->full_match(s), want) << "pattern " << p << " on '" << s << "'";
    }
    nonempty += any;
  }
  EXPECT_GT(nonempty, 250);  // the comparison is not vacuous
}

struct Refusal {
  std::string pattern;
  size_t offset;
  std::string says;  // part of the message
};

TEST(Regex, RefusesUnsupportedConstructsNamingThemAndTheirOffset) {
  const std::vector<Refusal> refusals = {
      {"(a)\\1", 3, "backreference"},
      {"(?<x>a)\\k<x>", 7, "named backreference"},
      {"a(?=b)", 1, "lookahead"},
      {"a(?!b)", 1, "lookahead"},
      {"(?<=a)b", 0, "lookbehind"},
      {"(?<!a)b", 0, "lookbehind"},
      {"a\\bc", 1, "word boundary"},
      {"a\\B", 1, "\\B"},
      {"a^b", 1, "'^'"},
      {"(^a)", 1, "'^'"},
      {"a$b", 1, "'$'"},
      {"(a$)", 2, "'$'"},
      {"(?i)abc", 0, "inline modifiers"},
      {"\\p{L}", 0, "Unicode property"},
      {"\\P{L}", 0, "Unicode property"},
      {"*a", 0, "nothing to repeat"},
      {"a**", 2, "nothing to repeat"},
      {"a{2}{3}", 4, "nothing to repeat"},
      {"a{1001}", 1, "above 1000"},
      {"a{2,1}", 1, "out of order"},
      {"a{2", 1, "incomplete quantifier"},
      {"a{,2}", 1, "incomplete quantifier"},
      {"ab{", 2, "incomplete quantifier"},
      {"{", 0, "lone '{'"},
      {"a}", 1, "lone '}'"},
      {"a]", 1, "lone ']'"},
      {"(ab", 0, "unclosed group"},
      {"ab)", 2, "unmatched ')'"},
      {"[ab", 0, "unterminated character class"},
      {"[z-a]", 1, "out of order"},
      {"[\\d-z]", 3, "range end"},
      {"\\q", 0, "unknown escape '\\q'"},
      {"ab\\", 2, "at the end"},
      {"\\x4", 0, "two hex digits"},
      {"\\u12", 0, "four hex digits"},
      {"\\u{110000}", 0, "malformed"},
      {"\\uD800", 0, "lone surrogate"},
      {"\\01", 0, "octal"},
      {"\\c1", 0, "letter"},
      {"(?<1x>a)", 0, "group name"},
      {"a\xff", 1, "invalid UTF-8"},
      {"\xc3", 0, "invalid UTF-8"},
      {"[]", 0, "matches no string"},
      {"(a{1000}){100}", 0, "NFA states"},
      {"(?:a|b)*a(?:a|b){12}", 0, "DFA states"},
      {"(?:.?){1000}", 0, "too complex"},
      {std::string(65, '(') + "a" + std::string(65, ')'), 64, "nested deeper"},
  };
  for (const Refusal& r : refusals) {
    SCOPED_TRACE("pattern " + r.pattern);
    std::string error;
    EXPECT_FALSE(Regex::compile(r.pattern, &error).has_value());
    EXPECT_NE(error.find(r.says), std::string::npos) << error;
    EXPECT_NE(error.find("at offset " + std::to_string(r.offset)), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << "one line";
  }
  EXPECT_FALSE(Regex::compile("(?=a)", nullptr).has_value());  // a null error is fine
}

TEST(Regex, NeverCrashesOnArbitraryInput) {
  std::mt19937 rng(7);
  // Single bytes, and fragments that reach deeper into the parser when glued together.
  const std::vector<std::string> pieces = {"(",
                                           ")",
                                           "[",
                                           "]",
                                           "{",
                                           "}",
                                           "|",
                                           "*",
                                           "+",
                                           "?",
                                           ".",
                                           "^",
                                           "$",
                                           "\\",
                                           "-",
                                           ",",
                                           "a",
                                           "b",
                                           "0",
                                           "9",
                                           "\xff",
                                           "\xc3\xa9",
                                           "\xf0\x9f\x98",
                                           "(?:",
                                           "(?<n>",
                                           "(?=",
                                           "(?<",
                                           "[^",
                                           "{2}",
                                           "{1,",
                                           "{0,1000}",
                                           "{999}",
                                           "\\u{",
                                           "\\uD83D",
                                           "\\uDE00",
                                           "\\u00e9",
                                           "\\x4",
                                           "\\d",
                                           "\\S",
                                           "\\w",
                                           "\\b",
                                           "\\c",
                                           "\\0",
                                           "\\1",
                                           "\\k",
                                           "\\p{L}",
                                           "a-z",
                                           "\\-"};
  int compiled = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string p;
    const size_t n = rng() % 24;
    for (size_t k = 0; k < n; ++k) p += pieces[rng() % pieces.size()];
    std::string error;
    auto re = Regex::compile(p, &error);
    if (re) {
      ++compiled;
      // A compiled pattern has a usable DFA: walking it never leaves the tables.
      uint32_t s = re->start();
      for (int k = 0; k < 8 && s != Regex::kDead; ++k) {
        s = re->step(s, static_cast<uint32_t>(rng() % 0x110000) >> (rng() % 21));
      }
    } else {
      EXPECT_NE(error.find("at offset"), std::string::npos) << p << ": " << error;
    }
  }
  EXPECT_GT(compiled, 100);
}

// Every state can still reach an accepting one; edges are sorted, disjoint, in range and lead
// to existing states; can_step_in says yes exactly when some code point of the range steps.
void expect_well_formed(const Regex& re, std::mt19937& rng) {
  const auto n = static_cast<uint32_t>(re.state_count());
  ASSERT_GT(n, 0u);
  std::vector<std::vector<uint32_t>> into(n);
  for (uint32_t s = 0; s < n; ++s) {
    uint32_t prev_hi = 0;
    bool first = true;
    for (const Regex::Edge& e : re.edges(s)) {
      EXPECT_LE(e.lo, e.hi);
      EXPECT_LE(e.hi, 0x10FFFFu);
      EXPECT_TRUE(e.hi < 0xD800 || e.lo > 0xDFFF) << "edge spans surrogates";
      if (!first) {
        EXPECT_GT(e.lo, prev_hi);
      }
      ASSERT_LT(e.next, n);
      EXPECT_EQ(re.step(s, e.lo), e.next);
      EXPECT_EQ(re.step(s, e.hi), e.next);
      into[e.next].push_back(s);
      prev_hi = e.hi;
      first = false;
    }
  }
  std::vector<uint8_t> live(n, 0);
  std::deque<uint32_t> queue;
  for (uint32_t s = 0; s < n; ++s) {
    if (re.accepting(s)) live[s] = 1, queue.push_back(s);
  }
  while (!queue.empty()) {
    const uint32_t s = queue.front();
    queue.pop_front();
    for (uint32_t from : into[s]) {
      if (!live[from]) live[from] = 1, queue.push_back(from);
    }
  }
  for (uint32_t s = 0; s < n; ++s) EXPECT_TRUE(live[s]) << "state " << s << " is dead-ended";

  for (int i = 0; i < 300; ++i) {
    const uint32_t s = static_cast<uint32_t>(rng() % n);
    uint32_t lo = static_cast<uint32_t>(rng() % 0x110000);
    uint32_t hi =
        std::min<uint32_t>(0x10FFFF, lo + static_cast<uint32_t>(rng() % (i % 2 ? 4 : 70000)));
    if (i % 3 == 0 && !re.edges(s).empty()) {  // near an edge boundary
      const auto& e = re.edges(s)[rng() % re.edges(s).size()];
      lo = e.hi + 1 - std::min<uint32_t>(e.hi + 1, rng() % 3);
      hi = lo + rng() % 3;
    }
    bool want = false;
    for (const auto& e : re.edges(s)) want |= e.lo <= hi && lo <= e.hi;
    EXPECT_EQ(re.can_step_in(s, lo, hi), want) << "state " << s << " [" << lo << ", " << hi << "]";
  }
}

TEST(Regex, EveryStateCanStillBeCompletedAndEdgesAreWellFormed) {
  std::mt19937 rng(99);
  std::vector<std::string> patterns;
  for (const Case& c : construct_cases()) patterns.push_back(c.pattern);
  for (const char* f : {"date", "time", "date-time", "uuid", "email", "ipv4", "ipv6", "hostname"}) {
    patterns.emplace_back(*format_regex(f));
  }
  // Dead ends a naive DFA would keep: a branch that can never finish.
  patterns.emplace_back("a[]|ab");
  patterns.emplace_back("(?:x[]y)*z");
  for (const auto& p : patterns) {
    SCOPED_TRACE("pattern " + p);
    expect_well_formed(must_compile(p), rng);
  }
  const Regex re = must_compile("a[]|ab");
  EXPECT_EQ(re.step(re.step(re.start(), 'a'), 'c'), Regex::kDead);
  EXPECT_EQ(re.state_count(), 3u);
  // kDead is absorbing, so a caller may keep stepping without checking each time.
  EXPECT_EQ(re.step(Regex::kDead, 'a'), Regex::kDead);
  EXPECT_FALSE(re.accepting(Regex::kDead));
  EXPECT_FALSE(re.can_step_in(Regex::kDead, 0, 0x10FFFF));
}

TEST(Regex, CanStepInRefusesALeadByteWhoseCodePointsAllFail) {
  const Regex re = must_compile("[a-z]é");
  const uint32_t after = re.step(re.start(), 'q');
  EXPECT_FALSE(re.can_step_in(re.start(), 0x80, 0x7FF));  // any two-byte character
  EXPECT_TRUE(re.can_step_in(after, 0xC0, 0xFF));         // lead byte 0xC3: U+00C0..U+00FF
  EXPECT_FALSE(re.can_step_in(after, 0x100, 0x13F));      // lead byte 0xC4
  EXPECT_FALSE(re.can_step_in(after, 'a', 'z'));
}

// Known-good strings (all valid for ajv-formats "full") and known-bad ones, each bad one either
// invalid for ajv or outside the documented subset.
struct FormatCase {
  std::string format;
  std::vector<std::string> good, bad;
};

TEST(RegexFormats, AcceptTheSubsetAndRefuseInvalidValues) {
  const std::vector<FormatCase> cases = {
      {"date",
       {"2024-02-28", "0000-01-01", "1999-12-31", "2023-04-30", "2023-11-30"},
       {"2024-02-30", "2024-02-29", "2023-04-31", "2023-13-01", "2023-00-10", "2023-01-00",
        "2023-1-01", "23-01-01", "2023-01-32", "2023-06-31"}},
      {"time",
       {"00:00:00Z", "23:59:59Z", "12:30:00.123+02:00", "08:15:30-11:45"},
       {"24:00:00Z", "12:60:00Z", "12:00:60Z", "12:00:00", "12:00:00+24:00", "12:00:00+02:60",
        "12:00:00z", "1:00:00Z", "12:00:00.Z"}},
      {"date-time",
       {"2024-01-15T10:20:30Z", "1970-01-01T00:00:00.5+01:00"},
       {"2024-01-15 10:20:30Z", "2024-01-15t10:20:30Z", "2024-01-15T10:20:30",
        "2024-02-30T00:00:00Z"}},
      {"uuid",
       {"123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000"},
       {"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
        "123E4567-E89B-12D3-A456-426614174000", "g23e4567-e89b-12d3-a456-426614174000"}},
      {"email",
       {"bob@example.com", "a.b+c_d%e-f@sub.domain.org", "x@a-b.io"},
       {"bob@example", "bob@@example.com", ".bob@example.com", "bob.@example.com",
        "bob@-example.com", "bob@example-.com", "bob@example.c0m", "bob@example.c",
        "bob example@x.com", "bob@.com"}},
      {"ipv4",
       {"0.0.0.0", "255.255.255.255", "192.168.1.10", "10.0.0.1"},
       {"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..2.3"}},
      {"ipv6",
       {"2001:db8:0:0:0:0:2:1", "fe80:0:0:0:202:b3ff:fe1e:8329"},
       {"2001:db8::2:1", "2001:db8:0:0:0:0:2", "2001:db8:0:0:0:0:2:1:3", "12345:0:0:0:0:0:0:1",
        "g001:db8:0:0:0:0:2:1"}},
      {"hostname",
       {"example.com", "a", "my-host", "a.b.c.d.e", "Example.COM", std::string(48, 'x')},
       {"-example.com", "example-.com", "ex..com", ".example.com", "a.b.c.d.e.f",
        std::string(49, 'x'), "exa_mple.com", "example.com."}},
  };
  for (const FormatCase& c : cases) {
    SCOPED_TRACE("format " + c.format);
    auto pattern = format_regex(c.format);
    ASSERT_TRUE(pattern.has_value());
    const Regex re = must_compile(*pattern);
    for (const auto& s : c.good) EXPECT_TRUE(re.full_match(s)) << "should accept '" << s << "'";
    for (const auto& s : c.bad) EXPECT_FALSE(re.full_match(s)) << "should reject '" << s << "'";
  }
  EXPECT_FALSE(format_regex("uri").has_value());
  EXPECT_FALSE(format_regex("").has_value());
}

TEST(RegexFormats, DateStepsRefuseTheImpossibleDayAtItsLastDigit) {
  const Regex re = must_compile(*format_regex("date"));
  auto walk = [&](std::string_view text) {
    uint32_t s = re.start();
    for (char c : text) {
      s = re.step(s, static_cast<uint8_t>(c));
      EXPECT_NE(s, Regex::kDead) << "at '" << c << "' of " << text;
      if (s == Regex::kDead) break;
    }
    return s;
  };
  uint32_t s = walk("2024-04-3");
  EXPECT_NE(re.step(s, '0'), Regex::kDead);
  EXPECT_EQ(re.step(s, '1'), Regex::kDead);  // April 31
  s = walk("2024-02-2");
  EXPECT_NE(re.step(s, '8'), Regex::kDead);
  EXPECT_EQ(re.step(s, '9'), Regex::kDead);  // Feb 29 (never generated, even in leap years)
  s = walk("2024-02-");
  EXPECT_FALSE(re.can_step_in(s, '3', '9'));  // no day of February starts with 3..9
  EXPECT_TRUE(re.can_step_in(s, '0', '2'));
}

}  // namespace
