#include "engine/speculative/prompt_lookup.h"

#include <algorithm>

namespace toolgate::engine {

std::vector<int32_t> propose_by_prompt_lookup(std::span<const int32_t> context, int k,
                                              int ngram_min, int ngram_max) {
  const int len = static_cast<int>(context.size());
  if (k <= 0 || ngram_min < 1) return {};
  for (int n = std::min(ngram_max, len - 1); n >= ngram_min; --n) {
    const auto suffix = context.subspan(len - n);
    // Latest start first; a match must end before the suffix starts so that it has followers.
    for (int start = len - n - 1; start >= 0; --start) {
      if (!std::equal(suffix.begin(), suffix.end(), context.begin() + start)) continue;
      const int from = start + n;
      const int count = std::min(k, len - from);
      return {context.begin() + from, context.begin() + from + count};
    }
  }
  return {};
}

}  // namespace toolgate::engine
