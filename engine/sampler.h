#pragma once
// Turns one position's logits into one token, following SamplingParams (engine.h).
//
// Pipeline, in this order (the conventions of HF transformers / vLLM / llama.cpp where they agree):
//   1. logit_bias           logit[id] += bias; a bias <= -100 bans the token outright (-inf), so
//                           OpenAI's documented "-100 bans" holds whatever the logit's scale.
//   2. repetition_penalty   HF style (CTRL paper): every distinct token of prompt + generated is
//                           penalised once: positive logits divided by it, negative multiplied.
//   3. presence/frequency   OpenAI style over the *generated* tokens only:
//                           logit -= presence * [count > 0] + frequency * count.
//   4. reported logprobs    log_softmax of the logits as they stand now: after bias and penalties,
//                           before temperature and truncation (so they describe the model plus the
//                           request's penalties, not the sampling knobs; vLLM's "processed
//                           logprobs" minus temperature). Computed only when logprobs or
//                           top_logprobs is asked for; otherwise SampledToken::logprob is 0.
//   5. greedy               when temperature < 1e-5 or top_k == 1: argmax, ties -> lowest id.
//   6. temperature          logits / T.
//   7. top_k                keep the k highest (ties -> lower ids first); <= 0 or >= n_vocab = off.
//   8. top_p                keep the smallest prefix of the probability-sorted candidates whose
//                           mass reaches p (mass measured after top_k's renormalisation).
//   9. min_p                keep tokens with prob >= min_p * max_prob.
//  10. draw                 categorical draw from the survivors, renormalised.
// Notes: llama.cpp's default chain applies temperature *last*, and vLLM applies min_p before
// top_k/top_p; both differ from this order only in how T and p interact with the cut-offs.
// A LogitsProcessor (engine.h) is the caller's business: LocalEngine checks the sampled token
// against it and, if refused, masks a saved copy of the logits and samples again.
//
// Cost per call, n = n_vocab, all passes over contiguous floats in blocks the compiler vectorises:
//  - greedy: one pass (sanitise NaN/inf; a block is scanned for the argmax only when one of its
//    logits beats the running maximum); logprobs add one exp pass and a top-N pass that skips
//    blocks the same way.
//  - top_k: a bounded heap of k candidates fed by the same block skipping, instead of a sort.
//  - no top_k: one exp pass; top_p then places the mass in a histogram keyed by the float's
//    exponent and top mantissa bits (16 buckets per octave, llama.cpp's bucket idea), so only the
//    boundary bucket is ranked; min_p is a threshold. The draw skips whole blocks by their sums.
// No allocation after construction, except the `top` vector handed back when top_logprobs > 0.
#include <bit>
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace toolgate::engine {

struct SampledToken {
  int32_t id = -1;
  float logprob = 0.0f;  // of `id`, see step 4; 0 when neither logprobs nor top_logprobs is set
  // Top-N (id, logprob), N = params.top_logprobs, sorted by logprob descending, ties -> lower id.
  std::vector<std::pair<int32_t, float>> top;
};

class Sampler {
 public:
  // Throws std::invalid_argument for parameters no request should get past the gateway with:
  // n_vocab <= 0, temperature < 0 or NaN, top_p outside (0, 1], min_p outside [0, 1],
  // repetition_penalty <= 0, top_logprobs outside [0, 20], a logit_bias id outside the vocab.
  // With a seed the sequence of draws is reproducible (mt19937_64, and the uniform variate is
  // built from its raw output, so it does not depend on the standard library's distributions);
  // without one the generator is seeded from std::random_device.
  Sampler(const SamplingParams& params, int32_t n_vocab);

  // logits: the model's raw output for one position, n_vocab entries; used as scratch (it holds
  // the processed logits of step 4 afterwards). prompt / generated: the token history that the
  // penalties look at. NaN logits count as -inf. Throws std::invalid_argument if logits has the
  // wrong size and std::runtime_error if every token is banned (-inf): there is nothing to pick.
  SampledToken sample(std::span<float> logits, std::span<const int32_t> prompt,
                      std::span<const int32_t> generated);

  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    float value;  // a logit during top_k selection, an unnormalised probability afterwards
    int32_t id;
  };

  void apply_bias_and_penalties(std::span<float> logits, std::span<const int32_t> prompt,
                                std::span<const int32_t> generated);
  void fill_top_logprobs(std::span<const float> logits, float log_z, SampledToken& out) const;
  int32_t sample_from(std::span<const float> logits, float max_logit);
  // Smallest weight that top_p can possibly keep (the lower edge of the bucket where the mass
  // reaches `target`), and the bucket key of that edge.
  std::pair<float, uint32_t> top_p_boundary(size_t n, double target);
  int32_t draw(size_t kept, double kept_mass);
  double uniform01();  // in [0, 1), 53 random bits

  SamplingParams params_;
  int32_t n_vocab_;
  bool wants_logprobs_;
  std::mt19937_64 rng_;

  // Reused scratch, sized once in the constructor.
  std::vector<Candidate> candidates_;  // (n_vocab)
  std::vector<float> weights_;         // (n_vocab) exp((logit - max) / T) before compaction
  std::vector<uint32_t> seen_stamp_;   // (n_vocab) repetition penalty: token seen in call #stamp
  std::vector<int32_t> counts_;        // (n_vocab) presence/frequency: all zero between calls
  std::vector<double> bucket_mass_;    // (kWeightBuckets) top_p histogram of weights
  uint32_t stamp_ = 0;
};

// Kernels the sampler is built from, exposed for tests.
namespace sampler_detail {

// c ? a : b without a branch: bit masks, because GCC (with its default -ftrapping-math) will not
// if-convert float comparisons, and a branch in a loop stops it from vectorising.
inline float select(bool c, float a, float b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & mask) |
                              (std::bit_cast<uint32_t>(b) & ~mask));
}

// exp(x) for x <= 0: Cephes expf (range reduction by ln 2 in two parts, degree-5 polynomial, 2^n
// built from bits) written without branches and inline, so loops over it vectorise. Relative
// error ~1e-7 on [-87.3, 0]; exactly 0 below that (including -inf and NaN), exactly 1 at 0.
inline float exp_nonpositive(float x) {
  const bool in_range = x >= -87.3f;
  x = select(in_range, x, -87.3f);  // keeps the float->int conversion defined
  const float fx = x * 1.44269504088896341f + 0.5f;
  int n = static_cast<int>(fx);     // truncates toward zero ...
  n -= static_cast<float>(n) > fx;  // ... so step down for negatives: floor
  const float nf = static_cast<float>(n);
  const float r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const float two_n = std::bit_cast<float>(static_cast<uint32_t>(n + 127) << 23);  // n >= -126
  return select(in_range, y * two_n, 0.0f);
}

}  // namespace sampler_detail

}  // namespace toolgate::engine
