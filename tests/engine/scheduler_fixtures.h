#pragma once
// Small builders shared by the scheduler tests (plain and speculative).
#include <cstdint>
#include <numeric>
#include <vector>

#include "engine/scheduler/scheduler.h"

namespace toolgate::engine::scheduler_test {

// n consecutive token ids starting at `first`.
inline std::vector<int32_t> iota_tokens(int n, int32_t first = 100) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), first);
  return t;
}

// A scheduler with `num_blocks` blocks of `block_size` tokens and a 256-token context.
inline SchedulerConfig config(int num_blocks, int block_size = 4) {
  SchedulerConfig c;
  c.num_blocks = num_blocks;
  c.block_size = block_size;
  c.max_model_len = 256;
  return c;
}

}  // namespace toolgate::engine::scheduler_test
