#pragma once
// Finds stop strings in streamed text so that a stop string never reaches the client, also when
// it arrives split over many tokens.
//
// Text that could still turn out to be the start of a stop string is held back until the next
// pieces decide it; everything before that is released at once.
//
// Which stop wins when several match: the one that *completes first* in the byte stream, i.e.
// the match with the smallest end offset, which is where generation would have halted had the
// text arrived a byte at a time (vLLM and llama.cpp also stop as soon as any stop string has
// appeared). Among matches ending at the same byte, the one starting earliest (the longest) wins,
// so the most text is cut. This rule makes the output independent of how the text is split into
// pushes. Example: stops {"abc", "bc"}, text "xabc" -> emit "x".
// A consequence: with stops {"b", "abc"} and text "abc", "b" completes first -> emit "a".
//
// UTF-8: pushes are complete characters; the held-back suffix always starts on a character
// boundary (a stop string that is itself valid UTF-8 can only match there, and the cut is moved
// back to a boundary for ones that are not), so released text is never a broken character.
// Empty stop strings are ignored.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;      // text safe to send now
    bool stopped = false;  // a stop string completed: emit holds the text before it; the stop
                           // string and everything after it are dropped
  };

  // text: newly decoded text, complete UTF-8 characters. After a stop, returns {"", true}.
  Result push(std::string_view text);
  // End of generation without a stop: releases the held-back text (empty after a stop).
  std::string flush();

  bool stopped() const { return stopped_; }
  // Bytes currently held back (always shorter than the longest stop string).
  size_t held_bytes() const { return held_.size(); }

 private:
  // Length of the longest suffix of held_ that is a proper prefix of some stop string.
  size_t partial_match_length() const;

  std::vector<std::string> stops_;
  size_t longest_stop_ = 0;
  std::string held_;  // undecided text: a possible start of a stop string
  bool stopped_ = false;
};

}  // namespace toolgate::engine
