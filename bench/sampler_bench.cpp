// Usage: sampler_bench [iterations [config]].
// Microseconds per Sampler::sample() call for the vocabulary sizes of SmolLM2 (49152) and
// Qwen2.5 (151936), greedy and temperature + top_k + top_p. Prints one JSON object.
//
// Logits are N(0, 3), flatter than a real model's, so that a large share of the vocabulary
// survives temperature (a pessimistic case for top_p without top_k). Each call gets a fresh copy
// (sample() scribbles on its input); the copy is timed alone and subtracted. The machine is shared,
// so time is process CPU time (std::clock: time spent descheduled does not count), and each figure
// is the best of several rounds ("us") next to the median round ("us_median").
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/sampler.h"

using toolgate::engine::Sampler;
using toolgate::engine::SamplingParams;

namespace {

struct Config {
  const char* name;
  SamplingParams params;
};

double round_micros(const SamplingParams& params, const std::vector<float>& logits,
                    int iterations, bool copy_only) {
  Sampler sampler(params, static_cast<int32_t>(logits.size()));
  std::vector<float> scratch(logits.size());
  std::vector<int32_t> generated = {1, 2, 3, 4, 5, 6, 7, 8};
  volatile int32_t sink = 0;
  const std::clock_t cpu_start = std::clock();
  for (int i = 0; i < iterations; ++i) {
    scratch = logits;
    if (!copy_only) sink = sampler.sample(scratch, {}, generated).id;
    else sink = static_cast<int32_t>(scratch[i % scratch.size()]);
  }
  const double cpu_us = 1e6 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  (void)sink;
  return cpu_us / iterations;
}

struct Timing {
  double best;
  double median;
};

Timing micros_per_call(const SamplingParams& params, const std::vector<float>& logits,
                       int iterations, bool copy_only) {
  constexpr int kRounds = 9;
  std::vector<double> rounds;
  for (int r = 0; r < kRounds; ++r) {
    rounds.push_back(round_micros(params, logits, iterations / kRounds + 1, copy_only));
  }
  std::sort(rounds.begin(), rounds.end());
  return {rounds.front(), rounds[kRounds / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::stoi(argv[1]) : 900;
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  greedy.seed = 1;
  SamplingParams topk_topp;
  topk_topp.temperature = 0.7f;
  topk_topp.top_k = 40;
  topk_topp.top_p = 0.9f;
  topk_topp.seed = 1;
  SamplingParams topp_only;  // no top_k: the whole vocabulary is exponentiated and ranked
  topp_only.temperature = 0.7f;
  topp_only.top_p = 0.9f;
  topp_only.seed = 1;
  SamplingParams greedy_logprobs = greedy;
  greedy_logprobs.logprobs = true;
  greedy_logprobs.top_logprobs = 5;
  const Config configs[] = {{"greedy", greedy},
                            {"temp0.7_topk40_topp0.9", topk_topp},
                            {"temp0.7_topp0.9", topp_only},
                            {"greedy_logprobs_top5", greedy_logprobs}};

  std::printf("{\"iterations\": %d, \"unit\": \"us_per_sample\", \"results\": [", iterations);
  bool first = true;
  for (int vocab : {49152, 151936}) {
    std::mt19937_64 rng(42);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> logits(static_cast<size_t>(vocab));
    for (auto& l : logits) l = normal(rng);
    const Timing copy = micros_per_call(greedy, logits, iterations, true);
    for (const auto& config : configs) {
      if (argc > 2 && std::string(argv[2]) != config.name) continue;  // one config, for profiling
      round_micros(config.params, logits, iterations / 10 + 1, false);  // warm up
      const Timing t = micros_per_call(config.params, logits, iterations, false);
      std::printf("%s\n  {\"vocab\": %d, \"config\": \"%s\", \"us\": %.1f, \"us_median\": %.1f}",
                  first ? "" : ",", vocab, config.name, t.best - copy.best,
                  t.median - copy.median);
      first = false;
    }
  }
  std::printf("\n]}\n");
  return 0;
}
