#include "engine/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace toolgate::engine {

namespace {

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Moves a cut position back until it no longer splits a UTF-8 character of `text`.
size_t back_to_char_boundary(std::string_view text, size_t cut) {
  while (cut > 0 && cut < text.size() && is_continuation_byte(text[cut])) --cut;
  return cut;
}

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& stop : stops) {
    if (stop.empty()) continue;
    longest_stop_ = std::max(longest_stop_, stop.size());
    stops_.push_back(std::move(stop));
  }
}

size_t StopMatcher::partial_match_length() const {
  const size_t max_len = std::min(held_.size(), longest_stop_ - 1);
  const std::string_view held(held_);
  for (size_t len = max_len; len > 0; --len) {
    const std::string_view suffix = held.substr(held.size() - len);
    for (const auto& stop : stops_) {
      if (stop.size() > len && std::string_view(stop).starts_with(suffix)) return len;
    }
  }
  return 0;
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
  Result result;
  if (stopped_) {
    result.stopped = true;
    return result;
  }
  if (stops_.empty()) {
    result.emit.assign(text);
    return result;
  }
  held_.append(text);

  // Earliest-completing match (smallest end), ties -> earliest start. No match lies wholly inside
  // the text held before this push: it would have been found then. For one stop string its first
  // occurrence is also its earliest-ending one.
  size_t best_start = std::string::npos;
  size_t best_end = std::string::npos;
  for (const auto& stop : stops_) {
    const size_t pos = held_.find(stop);
    if (pos == std::string::npos) continue;
    const size_t end = pos + stop.size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_start = pos;
      best_end = end;
    }
  }
  if (best_start != std::string::npos) {
    result.emit = held_.substr(0, back_to_char_boundary(held_, best_start));
    result.stopped = stopped_ = true;
    held_.clear();
    return result;
  }

  const size_t cut = back_to_char_boundary(held_, held_.size() - partial_match_length());
  result.emit = held_.substr(0, cut);
  held_.erase(0, cut);
  return result;
}

std::string StopMatcher::flush() { return std::exchange(held_, std::string()); }

}  // namespace toolgate::engine
