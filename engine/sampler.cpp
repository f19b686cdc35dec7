#include "engine/sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>

namespace toolgate::engine {

namespace {

using sampler_detail::exp_nonpositive;
using sampler_detail::select;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kFloatMax = std::numeric_limits<float>::max();
// Below this temperature sampling is argmax; vLLM's _SAMPLING_EPS.
constexpr float kGreedyTemperature = 1e-5f;
// OpenAI: "values like -100 ... should result in a ban". Adding -100 only bans when the logits'
// spread is small, so at or below this the token becomes -inf.
constexpr float kBanBias = -100.0f;
constexpr int kMaxTopLogprobs = 20;

// Hot loops work on blocks of this many floats: fixed-trip inner loops the compiler turns into
// SIMD, and a block whose maximum cannot matter is skipped after one vector reduction.
constexpr size_t kBlock = 64;

// top_p histogram: a positive float's bits shifted right by 19 keep the exponent and the top 4
// mantissa bits, so the key grows with the weight in steps of at most 2^(1/16) (~4.4%). Weights
// lie in (0, 1], whose keys are 0 .. key(1.0f).
constexpr int kWeightKeyShift = 19;
constexpr size_t kWeightBuckets = (std::bit_cast<uint32_t>(1.0f) >> kWeightKeyShift) + 1;

inline uint32_t weight_key(float w) { return std::bit_cast<uint32_t>(w) >> kWeightKeyShift; }
inline float weight_key_floor(uint32_t key) { return std::bit_cast<float>(key << kWeightKeyShift); }

// "a is more probable than b": value descending, ties -> lower id first. Every selection in this
// file uses this one order, so top_k == 1 picks exactly what greedy picks.
template <typename C>
bool ranks_before(const C& a, const C& b) {
  return a.value > b.value || (a.value == b.value && a.id < b.id);
}

// Whether any of p[0 .. kBlock) exceeds x: an integer OR-reduction, which vectorises (a float
// max reduction does not without -ffast-math). Lets hot loops skip blocks that cannot matter.
inline bool block_exceeds(const float* p, float x) {
  int any = 0;
  for (size_t j = 0; j < kBlock; ++j) any |= p[j] > x;
  return any != 0;
}

// NaN -> -inf (no probability), +inf -> FLT_MAX (so that logit - max stays finite).
inline float sanitise(float l) {
  return select(l != l, -kInf, select(l > kFloatMax, kFloatMax, l));
}

// out[i] = exp((in[i] - max) * scale) for in[i] <= max, scale > 0; returns their sum (double).
double exp_shifted(std::span<const float> in, float max, float scale, float* out) {
  const size_t n = in.size();
  const float* src = in.data();
  double sum = 0.0;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float lane[8] = {};
    for (size_t b = 0; b < kBlock; b += 8) {
      for (int j = 0; j < 8; ++j) {
        const float w = exp_nonpositive((src[i + b + j] - max) * scale);
        out[i + b + j] = w;
        lane[j] += w;
      }
    }
    float block = 0.0f;
    for (float l : lane) block += l;
    sum += block;
  }
  for (; i < n; ++i) sum += out[i] = exp_nonpositive((src[i] - max) * scale);
  return sum;
}

void check_history(std::span<const int32_t> tokens, int32_t n_vocab, const char* which) {
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab) {
      throw std::invalid_argument(std::string("sampler: ") + which + " token id " +
                                  std::to_string(t) + " outside the vocabulary");
    }
  }
}

}  // namespace

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("sampler: " + what); };
  if (n_vocab <= 0) fail("n_vocab must be positive");
  if (!(params.temperature >= 0.0f) || std::isinf(params.temperature)) {
    fail("temperature must be finite and >= 0");
  }
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) fail("top_p must be in (0, 1]");
  if (!(params.min_p >= 0.0f && params.min_p <= 1.0f)) fail("min_p must be in [0, 1]");
  if (!(params.repetition_penalty > 0.0f) || std::isinf(params.repetition_penalty)) {
    fail("repetition_penalty must be finite and > 0");
  }
  if (!std::isfinite(params.presence_penalty) || !std::isfinite(params.frequency_penalty)) {
    fail("presence_penalty and frequency_penalty must be finite");
  }
  if (params.top_logprobs < 0 || params.top_logprobs > kMaxTopLogprobs) {
    fail("top_logprobs must be in [0, 20]");
  }
  for (const auto& [id, bias] : params.logit_bias) {
    if (id < 0 || id >= n_vocab) {
      fail("logit_bias token id " + std::to_string(id) + " outside the vocabulary");
    }
    if (std::isnan(bias)) fail("logit_bias value is NaN");
  }
  wants_logprobs_ = params.logprobs || params.top_logprobs > 0;

  uint64_t seed;
  if (params.seed) {
    seed = *params.seed;
  } else {
    std::random_device device;
    seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  }
  rng_.seed(seed);

  const auto n = static_cast<size_t>(n_vocab);
  candidates_.resize(n);
  weights_.resize(n);
  if (params.repetition_penalty != 1.0f) seen_stamp_.assign(n, 0);
  if (params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f) counts_.assign(n, 0);
  if (params.top_p < 1.0f) bucket_mass_.assign(kWeightBuckets, 0.0);
}

double Sampler::uniform01() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

void Sampler::apply_bias_and_penalties(std::span<float> logits, std::span<const int32_t> prompt,
                                       std::span<const int32_t> generated) {
  for (const auto& [id, bias] : params_.logit_bias) {
    if (bias <= kBanBias) {
      logits[id] = -kInf;
    } else {
      logits[id] += bias;
    }
  }

  const float rp = params_.repetition_penalty;
  if (rp != 1.0f) {
    check_history(prompt, n_vocab_, "prompt");
    check_history(generated, n_vocab_, "generated");
    if (++stamp_ == 0) {  // wrapped: old stamps could collide, start over
      std::fill(seen_stamp_.begin(), seen_stamp_.end(), 0u);
      stamp_ = 1;
    }
    // HF RepetitionPenaltyLogitsProcessor: each distinct token once, sign-aware so the penalty
    // always makes the token less likely.
    auto penalise = [&](int32_t t) {
      if (seen_stamp_[t] == stamp_) return;
      seen_stamp_[t] = stamp_;
      float& l = logits[t];
      l = l > 0.0f ? l / rp : l * rp;
    };
    for (int32_t t : prompt) penalise(t);
    for (int32_t t : generated) penalise(t);
  }

  const float presence = params_.presence_penalty;
  const float frequency = params_.frequency_penalty;
  if (presence != 0.0f || frequency != 0.0f) {
    check_history(generated, n_vocab_, "generated");
    // Count, then apply and reset in a second walk: O(len(generated)), and counts_ is all zero
    // again on return without touching the whole vocabulary.
    for (int32_t t : generated) ++counts_[t];
    for (int32_t t : generated) {
      const int32_t c = counts_[t];
      if (c == 0) continue;
      logits[t] -= presence + frequency * static_cast<float>(c);
      counts_[t] = 0;
    }
  }
}

SampledToken Sampler::sample(std::span<float> logits, std::span<const int32_t> prompt,
                             std::span<const int32_t> generated) {
  if (logits.size() != static_cast<size_t>(n_vocab_)) {
    throw std::invalid_argument("sampler: got " + std::to_string(logits.size()) +
                                " logits for a vocabulary of " + std::to_string(n_vocab_));
  }
  apply_bias_and_penalties(logits, prompt, generated);

  // One pass: sanitise, and the argmax with ties to the lowest id (strict >). Only a block that
  // raises the maximum is scanned element by element; with any ordering of the logits but a
  // sorted one, that is a handful of blocks.
  float* data = logits.data();
  const auto n = static_cast<size_t>(n_vocab_);
  float max_logit = -kInf;
  int32_t best = -1;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float* p = data + i;
    for (size_t j = 0; j < kBlock; ++j) p[j] = sanitise(p[j]);
    if (!block_exceeds(p, max_logit)) continue;
    for (size_t j = 0; j < kBlock; ++j) {
      if (p[j] > max_logit) {
        max_logit = p[j];
        best = static_cast<int32_t>(i + j);
      }
    }
  }
  for (; i < n; ++i) {
    data[i] = sanitise(data[i]);
    if (data[i] > max_logit) {
      max_logit = data[i];
      best = static_cast<int32_t>(i);
    }
  }
  if (best < 0) throw std::runtime_error("sampler: every token is banned (-inf logits)");

  SampledToken out;
  float log_z = 0.0f;
  if (wants_logprobs_) {
    const double z = exp_shifted(logits, max_logit, 1.0f, weights_.data());
    log_z = max_logit + static_cast<float>(std::log(z));
    fill_top_logprobs(logits, log_z, out);
  }

  const bool greedy = params_.temperature < kGreedyTemperature || params_.top_k == 1;
  out.id = greedy ? best : sample_from(logits, max_logit);
  if (wants_logprobs_) out.logprob = logits[out.id] - log_z;
  return out;
}

void Sampler::fill_top_logprobs(std::span<const float> logits, float log_z,
                                SampledToken& out) const {
  const auto n_top = static_cast<size_t>(params_.top_logprobs);
  if (n_top == 0) return;
  // A sorted run of at most n_top (id, logit). Once it is full, a block whose maximum does not
  // beat its last entry is skipped whole.
  auto& top = out.top;
  top.reserve(n_top);
  const auto n = static_cast<size_t>(n_vocab_);
  auto offer = [&](size_t id) {
    const float l = logits[id];
    if (l == -kInf) return;  // banned tokens are no alternative
    if (top.size() == n_top) {
      if (!(l > top.back().second)) return;
      top.pop_back();
    }
    auto pos = top.end();
    while (pos != top.begin() && std::prev(pos)->second < l) --pos;  // ties: lower id first
    top.insert(pos, {static_cast<int32_t>(id), l});
  };
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    if (top.size() == n_top && !block_exceeds(logits.data() + i, top.back().second)) continue;
    for (size_t j = i; j < i + kBlock; ++j) offer(j);
  }
  for (; i < n; ++i) offer(i);
  for (auto& entry : top) entry.second -= log_z;
}

std::pair<float, uint32_t> Sampler::top_p_boundary(size_t n, double target) {
  std::fill(bucket_mass_.begin(), bucket_mass_.end(), 0.0);
  const float* w = weights_.data();
  for (size_t i = 0; i < n; ++i) bucket_mass_[weight_key(w[i])] += w[i];
  double cum = 0.0;
  for (size_t key = kWeightBuckets; key-- > 0;) {
    cum += bucket_mass_[key];
    if (cum >= target) {
      return {weight_key_floor(static_cast<uint32_t>(key)), static_cast<uint32_t>(key)};
    }
  }
  return {0.0f, 0};  // rounding kept the sum under target: top_p cuts nothing
}

int32_t Sampler::sample_from(std::span<const float> logits, float max_logit) {
  const float inv_t = 1.0f / params_.temperature;
  const auto n_vocab = static_cast<size_t>(n_vocab_);
  const float* data = logits.data();
  Candidate* cand = candidates_.data();
  const bool use_top_p = params_.top_p < 1.0f;
  const bool use_min_p = params_.min_p > 0.0f;

  // Build the candidates as (weight, id) with weight = exp((logit - max) / T), so the maximum has
  // weight exactly 1 and min_p's threshold on the weights is min_p itself. z is the mass after
  // top_k: the denominator top_p measures against. Candidates [0, certain) are known to lie
  // inside top_p's prefix; only [certain, n) may need ranking.
  size_t n = 0;
  size_t certain = 0;
  double z = 0.0;
  double certain_mass = 0.0;

  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n_vocab) {
    // Bounded heap of the k best logits with the worst at the front; blocks whose maximum cannot
    // enter are skipped. Strict > keeps lower ids on ties (ids arrive in increasing order).
    const auto k = static_cast<size_t>(params_.top_k);
    auto before = [](const Candidate& a, const Candidate& b) { return ranks_before(a, b); };
    auto offer = [&](size_t id) {
      const float l = data[id];
      if (l == -kInf) return;
      if (n < k) {
        cand[n++] = {l, static_cast<int32_t>(id)};
        std::push_heap(cand, cand + n, before);
      } else if (l > cand[0].value) {
        std::pop_heap(cand, cand + n, before);
        cand[n - 1] = {l, static_cast<int32_t>(id)};
        std::push_heap(cand, cand + n, before);
      }
    };
    size_t i = 0;
    for (; i + kBlock <= n_vocab; i += kBlock) {
      if (n == k && !block_exceeds(data + i, cand[0].value)) continue;
      for (size_t j = i; j < i + kBlock; ++j) offer(j);
    }
    for (; i < n_vocab; ++i) offer(i);
    for (size_t c = 0; c < n; ++c) {
      cand[c].value = exp_nonpositive((cand[c].value - max_logit) * inv_t);
      z += cand[c].value;
    }
    if (use_min_p) {
      const float threshold = params_.min_p;
      n = static_cast<size_t>(
          std::partition(cand, cand + n, [&](const Candidate& c) { return c.value >= threshold; }) -
          cand);
    }
  } else {
    z = exp_shifted(logits, max_logit, inv_t, weights_.data());
    // Everything below `threshold` is out: underflowed weights, min_p, and what lies under the
    // bucket where top_p's mass is reached. Branch-free compaction.
    float threshold = use_min_p ? params_.min_p : std::numeric_limits<float>::min();
    uint32_t boundary_key = 0;
    if (use_top_p) {
      const auto [edge, key] = top_p_boundary(n_vocab, static_cast<double>(params_.top_p) * z);
      threshold = std::max(threshold, edge);
      boundary_key = key;
    }
    const float* w = weights_.data();
    for (size_t i = 0; i < n_vocab; ++i) {
      cand[n] = {w[i], static_cast<int32_t>(i)};
      n += w[i] >= threshold;
    }
    if (use_top_p) {
      // Weights above the boundary bucket are inside the prefix whatever the ranking.
      const float upper = weight_key_floor(boundary_key + 1);
      certain = static_cast<size_t>(
          std::partition(cand, cand + n, [&](const Candidate& c) { return c.value >= upper; }) -
          cand);
      for (size_t c = 0; c < certain; ++c) certain_mass += cand[c].value;
    } else if (!use_min_p) {
      return draw(n, z);  // plain temperature sampling over the whole vocabulary
    }
  }

  // top_p, then min_p. Both keep a prefix of the candidates in ranks_before order, so the result
  // is the shorter prefix; min_p already removed its part, so rank [certain, n) until the mass
  // reaches p * z. If it never does, top_p's prefix is longer than what min_p left: keep all.
  // Ranking grows by partial selections (32, 128, 512, ...) so a peaked head is all that gets
  // sorted.
  double cum = certain_mass;
  size_t kept = n;
  const double target = static_cast<double>(params_.top_p) * z;
  if (use_top_p && cum < target) {
    auto before = [](const Candidate& a, const Candidate& b) { return ranks_before(a, b); };
    size_t sorted = certain;
    size_t chunk = 32;
    bool reached = false;
    while (sorted < n && !reached) {
      const size_t mid = std::min(n, sorted + chunk);
      if (mid < n) std::nth_element(cand + sorted, cand + mid, cand + n, before);
      std::sort(cand + sorted, cand + mid, before);
      for (size_t c = sorted; c < mid; ++c) {
        cum += cand[c].value;
        if (cum >= target) {
          kept = c + 1;
          reached = true;
          break;
        }
      }
      sorted = mid;
      chunk *= 4;
    }
  } else {
    for (size_t c = certain; c < n; ++c) cum += cand[c].value;
  }
  return draw(kept, cum);
}

int32_t Sampler::draw(size_t kept, double kept_mass) {
  // Categorical draw over cand[0, kept) (order irrelevant). Whole blocks are skipped by their
  // sums, so a draw over the full vocabulary does not walk 150k dependent additions.
  const Candidate* cand = candidates_.data();
  const double u = uniform01() * kept_mass;
  double acc = 0.0;
  size_t i = 0;
  for (; i + kBlock <= kept; i += kBlock) {
    float lane[8] = {};
    for (size_t b = 0; b < kBlock; b += 8) {
      for (int j = 0; j < 8; ++j) lane[j] += cand[i + b + j].value;
    }
    float block = 0.0f;
    for (float l : lane) block += l;
    if (acc + block > u) break;
    acc += block;
  }
  for (; i < kept; ++i) {
    acc += cand[i].value;
    if (u < acc && cand[i].value > 0.0f) return cand[i].id;
  }
  // u rounded up to (or past) the total: the last candidate with any weight.
  for (i = kept; i-- > 0;) {
    if (cand[i].value > 0.0f) return cand[i].id;
  }
  return cand[0].id;
}

}  // namespace toolgate::engine
