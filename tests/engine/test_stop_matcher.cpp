// Specification of engine/stop_matcher.h.
#include "engine/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace toolgate::engine {
namespace {

struct Outcome {
  std::string text;  // everything emitted, flush included when not stopped
  bool stopped = false;
};

bool operator==(const Outcome& a, const Outcome& b) {
  return a.text == b.text && a.stopped == b.stopped;
}
std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{\"" << o.text << "\", " << (o.stopped ? "stopped" : "not stopped") << "}";
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80           ? 1
                       : (c >> 5) == 0x6  ? 2
                       : (c >> 4) == 0xE  ? 3
                       : (c >> 3) == 0x1E ? 4
                                          : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

// Feeds the pieces, checks that every emitted piece is valid UTF-8 and that nothing is emitted
// after a stop, and returns what the client would have received.
Outcome run(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopMatcher m(stops);
  Outcome out;
  for (const auto& piece : pieces) {
    auto r = m.push(piece);
    EXPECT_TRUE(is_valid_utf8(r.emit)) << "emitted a broken character";
    if (out.stopped) {
      EXPECT_TRUE(r.emit.empty());
    }
    out.text += r.emit;
    out.stopped = out.stopped || r.stopped;
  }
  if (!out.stopped) out.text += m.flush();
  return out;
}

// Reference: the stop that completes first (smallest end), ties -> earliest start.
Outcome reference(const std::vector<std::string>& stops, const std::string& text) {
  size_t best_start = std::string::npos, best_end = std::string::npos;
  for (const auto& s : stops) {
    if (s.empty()) continue;
    const size_t pos = text.find(s);
    if (pos == std::string::npos) continue;
    if (pos + s.size() < best_end || (pos + s.size() == best_end && pos < best_start)) {
      best_start = pos;
      best_end = pos + s.size();
    }
  }
  if (best_start == std::string::npos) return {text, false};
  return {text.substr(0, best_start), true};
}

// Byte offsets where a UTF-8 character starts (pieces may only be cut there).
std::vector<size_t> char_boundaries(const std::string& s) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) cuts.push_back(i);
  }
  return cuts;
}

std::vector<std::string> split_at(const std::string& s, const std::vector<size_t>& cuts) {
  std::vector<std::string> pieces;
  size_t from = 0;
  for (size_t cut : cuts) {
    pieces.push_back(s.substr(from, cut - from));
    from = cut;
  }
  pieces.push_back(s.substr(from));
  return pieces;
}

TEST(StopMatcher, WithoutStopsEverythingPassesStraightThrough) {
  StopMatcher m({});
  auto r = m.push("hello <|end|>");
  EXPECT_EQ(r.emit, "hello <|end|>");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, TextThatCannotStartAStopIsReleasedAtOnce) {
  StopMatcher m({"<|end|>"});
  auto r = m.push("Hello world");
  EXPECT_EQ(r.emit, "Hello world");
  EXPECT_EQ(m.held_bytes(), 0u);
}

TEST(StopMatcher, StopSplitAtEveryByteBoundaryIsNeverEmitted) {
  const std::string text = "Hello<|end|>world";
  const std::vector<std::string> stops = {"<|end|>"};
  const Outcome expected{"Hello", true};
  // Two pieces, every cut.
  for (size_t i = 1; i < text.size(); ++i) {
    EXPECT_EQ(run(stops, split_at(text, {i})), expected) << i;
  }
  // Three pieces, every pair of cuts.
  for (size_t i = 1; i < text.size(); ++i) {
    for (size_t j = i + 1; j < text.size(); ++j) {
      EXPECT_EQ(run(stops, split_at(text, {i, j})), expected) << i << "," << j;
    }
  }
  // One byte at a time, and the emitted text is a prefix of "Hello" at every step.
  StopMatcher m(stops);
  std::string sent;
  for (char c : text) {
    auto r = m.push(std::string(1, c));
    sent += r.emit;
    ASSERT_EQ(std::string("Hello").substr(0, sent.size()), sent);
    if (r.stopped) break;
  }
  EXPECT_EQ(sent, "Hello");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, PartialLookAlikeIsHeldThenReleased) {
  StopMatcher m({"</tool>"});
  auto r1 = m.push("a</to");
  EXPECT_EQ(r1.emit, "a");
  EXPECT_FALSE(r1.stopped);
  EXPECT_EQ(m.held_bytes(), 4u);
  auto r2 = m.push("x more");
  EXPECT_EQ(r2.emit, "</tox more");
  EXPECT_FALSE(r2.stopped);
}

TEST(StopMatcher, HeldTextRestartsTheMatchInsideItself) {
  // "<<" : the first '<' fails, but the second may still start the stop string.
  StopMatcher m({"<a>"});
  EXPECT_EQ(m.push("x<").emit, "x");
  EXPECT_EQ(m.push("<").emit, "<");
  auto r = m.push("a>tail");
  EXPECT_EQ(r.emit, "");
  EXPECT_TRUE(r.stopped);
}

TEST(StopMatcher, EarliestMatchAmongSeveralStopsWins) {
  EXPECT_EQ(run({"END", "STOP"}, {"foo STOP bar END"}), (Outcome{"foo ", true}));
  EXPECT_EQ(run({"END", "STOP"}, {"foo ST", "OP bar E", "ND"}), (Outcome{"foo ", true}));
  EXPECT_EQ(run({"STOP", "END"}, {"a END b STOP"}), (Outcome{"a ", true}));
}

TEST(StopMatcher, AtTheSameEndTheLongestStopWins) {
  EXPECT_EQ(run({"bc", "abc"}, {"xabc"}), (Outcome{"x", true}));
  EXPECT_EQ(run({"bc", "abc"}, {"xa", "b", "c"}), (Outcome{"x", true}));
}

TEST(StopMatcher, TheStopThatCompletesFirstWins) {
  // "abc" starts earlier but "b" is complete first: generation would have halted there.
  EXPECT_EQ(run({"abc", "b"}, {"abc"}), (Outcome{"a", true}));
  EXPECT_EQ(run({"abc", "b"}, {"a", "b", "c"}), (Outcome{"a", true}));
}

TEST(StopMatcher, StopAtTheVeryStart) {
  EXPECT_EQ(run({"###"}, {"###rest"}), (Outcome{"", true}));
  EXPECT_EQ(run({"###"}, {"#", "#", "#", "rest"}), (Outcome{"", true}));
  EXPECT_EQ(run({"###"}, {"###"}), (Outcome{"", true}));
}

TEST(StopMatcher, EverythingAfterAStopIsDropped) {
  StopMatcher m({"\n\n"});
  auto r = m.push("line\n\nnext line");
  EXPECT_EQ(r.emit, "line");
  EXPECT_TRUE(r.stopped);
  auto later = m.push("more");
  EXPECT_EQ(later.emit, "");
  EXPECT_TRUE(later.stopped);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, MultibyteCharactersAroundAStop) {
  // "é" (2 bytes), "→" (3 bytes), "😀" (4 bytes) before, inside and after stops.
  EXPECT_EQ(run({"→"}, {"café→more"}), (Outcome{"café", true}));
  EXPECT_EQ(run({"→"}, {"café", "→", "more"}), (Outcome{"café", true}));
  EXPECT_EQ(run({"😀 stop"}, {"é😀", " st", "op→"}), (Outcome{"é", true}));
  EXPECT_EQ(run({"😀 stop"}, {"é😀", " st", "ep→"}), (Outcome{"é😀 step→", false}));
  // A stop sharing a lead byte with the text ("€" and "→" both start with 0xE2) is no match.
  EXPECT_EQ(run({"€"}, {"a→b"}), (Outcome{"a→b", false}));
}

TEST(StopMatcher, HeldBackTextNeverSplitsACharacter) {
  // A malformed stop string that starts mid-character ("€" is E2 82 AC): its prefix matches the
  // tail of "€", but the held-back cut moves to the character boundary.
  StopMatcher m({"\x82\xAC!"});
  auto r = m.push("x€");
  EXPECT_EQ(r.emit, "x");
  EXPECT_TRUE(is_valid_utf8(r.emit));
  auto r2 = m.push("y");
  EXPECT_EQ(r2.emit, "€y");
}

TEST(StopMatcher, FlushReleasesHeldTextWhenNoStopCame) {
  StopMatcher m({"<|end|>"});
  EXPECT_EQ(m.push("abc<|e").emit, "abc");
  EXPECT_EQ(m.flush(), "<|e");
  EXPECT_EQ(m.held_bytes(), 0u);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  EXPECT_EQ(run({"", "x"}, {"abc"}), (Outcome{"abc", false}));
  EXPECT_EQ(run({""}, {"abc"}), (Outcome{"abc", false}));
}

TEST(StopMatcher, HoldsBackLessThanTheLongestStop) {
  StopMatcher m({"aaaa", "ab"});
  for (int i = 0; i < 10; ++i) {
    m.push("a");
    EXPECT_LE(m.held_bytes(), 3u);
  }
}

TEST(StopMatcher, OutputDoesNotDependOnHowTheTextIsSplit) {
  // Random texts over a tiny alphabet (so stops overlap and nearly match often), random stop
  // sets, random splits at character boundaries: always the reference's answer.
  const std::vector<std::string> alphabet = {"a", "b", "é", "→"};
  std::mt19937 rng(2024);
  auto word = [&](int max_len) {
    std::string s;
    const int len = 1 + static_cast<int>(rng() % max_len);
    for (int i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> stops;
    const int n_stops = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n_stops; ++i) stops.push_back(word(4));
    const std::string text = word(14);
    const Outcome expected = reference(stops, text);
    const auto boundaries = char_boundaries(text);
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<size_t> cuts;
      for (size_t b : boundaries) {
        if (rng() % 2) cuts.push_back(b);
      }
      ASSERT_EQ(run(stops, split_at(text, cuts)), expected)
          << "text=" << text << " stops[0]=" << stops[0] << " n_stops=" << stops.size();
    }
  }
}

}  // namespace
}  // namespace toolgate::engine
