// Specification of engine/sampler.h: each test names one promise of the sampler.
#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

namespace toolgate::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> random_logits(int n, uint64_t seed, float scale = 3.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> logits(n);
  for (auto& l : logits) l = normal(rng);
  return logits;
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Reference: softmax of logits / t in double.
std::vector<double> softmax(const std::vector<float>& logits, double t = 1.0) {
  double mx = -std::numeric_limits<double>::infinity();
  for (float l : logits) mx = std::max(mx, static_cast<double>(l));
  std::vector<double> p(logits.size());
  double z = 0;
  for (size_t i = 0; i < logits.size(); ++i) z += p[i] = std::exp((logits[i] - mx) / t);
  for (auto& x : p) x /= z;
  return p;
}

std::vector<float> logits_from_probs(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

SampledToken sample_once(Sampler& s, std::vector<float> logits,
                         std::span<const int32_t> prompt = {},
                         std::span<const int32_t> generated = {}) {
  return s.sample(logits, prompt, generated);  // copy: sample() scribbles on its input
}

std::vector<int> draw_counts(const SamplingParams& params, const std::vector<float>& logits,
                             int draws) {
  Sampler s(params, static_cast<int32_t>(logits.size()));
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) ++counts[sample_once(s, logits).id];
  return counts;
}

// Pearson chi-square of counts against probabilities; tokens with p == 0 must never appear.
double chi_square(const std::vector<int>& counts, const std::vector<double>& probs) {
  double n = std::accumulate(counts.begin(), counts.end(), 0.0);
  double stat = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (probs[i] == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " has probability 0 but was drawn";
      continue;
    }
    const double expected = n * probs[i];
    stat += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return stat;
}

// Chi-square critical values at significance 0.001 for df = 1..9 (the draws are seeded, so a
// pass is deterministic; the bound only has to be a fair one).
double chi_square_critical(size_t df) {
  static const double table[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88};
  return table[df];
}

SamplingParams seeded(uint64_t seed = 42) {
  SamplingParams p;
  p.seed = seed;
  return p;
}

TEST(Sampler, TemperatureZeroIsArgmax) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto logits = random_logits(5000, seed);
    SamplingParams p = seeded(seed);
    p.temperature = 0.0f;
    Sampler s(p, 5000);
    EXPECT_EQ(sample_once(s, logits).id, argmax(logits));
  }
}

TEST(Sampler, GreedyTiesGoToLowestId) {
  std::vector<float> logits = {0.0f, 3.0f, 1.0f, 3.0f, 3.0f};
  SamplingParams p = seeded();
  p.temperature = 0.0f;
  Sampler greedy(p, 5);
  EXPECT_EQ(sample_once(greedy, logits).id, 1);
  p.temperature = 1.0f;
  p.top_k = 1;
  Sampler top1(p, 5);
  EXPECT_EQ(sample_once(top1, logits).id, 1);
}

TEST(Sampler, TopKOneIsGreedyWhateverTheTemperature) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto logits = random_logits(5000, seed, 0.5f);  // flat: sampling would wander
    SamplingParams p = seeded(seed);
    p.temperature = 5.0f;
    p.top_k = 1;
    Sampler s(p, 5000);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(sample_once(s, logits).id, argmax(logits));
  }
}

TEST(Sampler, SameSeedGivesSameThousandDraws) {
  auto logits = random_logits(1000, 7, 1.0f);
  SamplingParams p = seeded(1234);
  p.top_p = 0.95f;
  Sampler a(p, 1000), b(p, 1000);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(sample_once(a, logits).id, sample_once(b, logits).id);
}

TEST(Sampler, DifferentSeedsGiveDifferentDraws) {
  auto logits = random_logits(1000, 7, 1.0f);
  Sampler a(seeded(1), 1000), b(seeded(2), 1000);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) differ += sample_once(a, logits).id != sample_once(b, logits).id;
  EXPECT_GT(differ, 900);
}

TEST(Sampler, NoSeedStillSamplesValidTokens) {
  auto logits = random_logits(100, 3, 1.0f);
  SamplingParams p;  // seed from std::random_device
  Sampler a(p, 100);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) {
    const int32_t id = sample_once(a, logits).id;
    ASSERT_GE(id, 0);
    ASSERT_LT(id, 100);
    seen.insert(id);
  }
  EXPECT_GT(seen.size(), 10u);
}

TEST(Sampler, FrequenciesMatchSoftmax) {
  const std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -1.0f, 0.2f, 1.5f};
  auto counts = draw_counts(seeded(), logits, 200000);
  EXPECT_LT(chi_square(counts, softmax(logits)), chi_square_critical(7));
}

TEST(Sampler, FrequenciesMatchTemperedSoftmax) {
  const std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -1.0f, 0.2f, 1.5f};
  for (float t : {0.5f, 2.0f}) {
    SamplingParams p = seeded(9);
    p.temperature = t;
    auto counts = draw_counts(p, logits, 200000);
    EXPECT_LT(chi_square(counts, softmax(logits, t)), chi_square_critical(7)) << "T=" << t;
  }
}

TEST(Sampler, TopKKeepsTheKMostLikelyRenormalised) {
  const std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -1.0f, 0.2f, 1.5f};
  SamplingParams p = seeded(5);
  p.top_k = 3;  // keeps ids 4, 7, 0
  auto counts = draw_counts(p, logits, 100000);
  std::vector<float> kept(logits.size(), -kInf);
  for (int id : {4, 7, 0}) kept[id] = logits[id];
  EXPECT_LT(chi_square(counts, softmax(kept)), chi_square_critical(2));
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.05 0.4 0.1 0.25 0.2 (ids shuffled against rank). Sorted: 0.4 0.25 0.2 ...
  const std::vector<double> probs = {0.05, 0.4, 0.1, 0.25, 0.2};
  const auto logits = logits_from_probs(probs);
  struct Case {
    float top_p;
    std::set<int> kept;
  };
  for (const Case& c : {Case{0.3f, {1}}, Case{0.6f, {1, 3}}, Case{0.8f, {1, 3, 4}},
                        Case{0.9f, {1, 3, 4, 2}}, Case{0.99f, {0, 1, 2, 3, 4}}}) {
    SamplingParams p = seeded(11);
    p.top_p = c.top_p;
    auto counts = draw_counts(p, logits, 50000);
    std::vector<double> expected(probs.size(), 0.0);
    double mass = 0;
    for (int id : c.kept) mass += probs[id];
    for (int id : c.kept) expected[id] = probs[id] / mass;
    const double stat = chi_square(counts, expected);
    if (c.kept.size() > 1) {
      EXPECT_LT(stat, chi_square_critical(c.kept.size() - 1)) << c.top_p;
    }
  }
}

TEST(Sampler, TopPMeasuresMassAfterTopK) {
  // top_k = 2 keeps 0.4 and 0.25 -> renormalised 0.615, 0.385; top_p 0.6 then keeps only id 1.
  const auto logits = logits_from_probs({0.05, 0.4, 0.1, 0.25, 0.2});
  SamplingParams p = seeded(3);
  p.top_k = 2;
  p.top_p = 0.6f;
  auto counts = draw_counts(p, logits, 2000);
  EXPECT_EQ(counts[1], 2000);
}

TEST(Sampler, TopPOnALargeFlatVocabularyStillRenormalisesCorrectly) {
  // Uniform over 3000 tokens: top_p = 0.5 keeps exactly 1500 of them (lowest ids on ties), all
  // in one histogram bucket, so this exercises the growing partial selection.
  std::vector<float> logits(3000, 0.0f);
  SamplingParams p = seeded(8);
  p.top_p = 0.5f;
  auto counts = draw_counts(p, logits, 6000);
  for (int i = 1500; i < 3000; ++i) ASSERT_EQ(counts[i], 0) << i;
  int distinct = 0;
  for (int i = 0; i < 1500; ++i) distinct += counts[i] > 0;
  EXPECT_GT(distinct, 1400);  // ~ 1500 * (1 - e^-4)
}

TEST(Sampler, MinPDropsTokensBelowFractionOfTheMax) {
  // max prob 0.4; min_p 0.3 -> threshold 0.12: keeps 0.4, 0.25, 0.2, drops 0.1 and 0.05.
  const std::vector<double> probs = {0.05, 0.4, 0.1, 0.25, 0.2};
  const auto logits = logits_from_probs(probs);
  SamplingParams p = seeded(13);
  p.min_p = 0.3f;
  auto counts = draw_counts(p, logits, 60000);
  std::vector<double> expected = {0, 0.4 / 0.85, 0, 0.25 / 0.85, 0.2 / 0.85};
  EXPECT_LT(chi_square(counts, expected), chi_square_critical(2));
}

TEST(Sampler, MinPAppliesAfterTopP) {
  // top_p 0.8 keeps {0.4, 0.25, 0.2}; min_p 0.55 (threshold 0.22) then leaves {0.4, 0.25}.
  const auto logits = logits_from_probs({0.05, 0.4, 0.1, 0.25, 0.2});
  SamplingParams p = seeded(17);
  p.top_p = 0.8f;
  p.min_p = 0.55f;
  auto counts = draw_counts(p, logits, 40000);
  EXPECT_LT(chi_square(counts, {0, 0.4 / 0.65, 0, 0.25 / 0.65, 0}), chi_square_critical(1));
}

TEST(Sampler, LogitBiasMinus100BansEvenAHugeLogit) {
  std::vector<float> logits = {0.0f, 500.0f, 1.0f, 0.5f};
  SamplingParams p = seeded();
  p.logit_bias = {{1, -100.0f}};
  auto counts = draw_counts(p, logits, 5000);
  EXPECT_EQ(counts[1], 0);
  p.temperature = 0.0f;
  Sampler greedy(p, 4);
  EXPECT_EQ(sample_once(greedy, logits).id, 2);
}

TEST(Sampler, LogitBiasPlus100ForcesAToken) {
  auto logits = random_logits(1000, 21);
  const int32_t forced = (argmax(logits) + 1) % 1000;
  SamplingParams p = seeded();
  p.logit_bias = {{forced, 100.0f}};
  auto counts = draw_counts(p, logits, 2000);
  EXPECT_EQ(counts[forced], 2000);
}

TEST(Sampler, LogitBiasIsAddedBelowTheBanThreshold) {
  std::vector<float> logits = {1.0f, 2.0f, 0.0f};
  SamplingParams p = seeded();
  p.temperature = 0.0f;
  p.logit_bias = {{1, -1.5f}, {2, 1.2f}};  // 1.0, 0.5, 1.2
  Sampler s(p, 3);
  EXPECT_EQ(sample_once(s, logits).id, 2);
}

TEST(Sampler, PresencePenaltyChangesTheArgmax) {
  std::vector<float> logits = {2.0f, 1.8f, 0.0f};
  const std::vector<int32_t> generated = {0};
  SamplingParams p = seeded();
  p.temperature = 0.0f;
  p.presence_penalty = 0.5f;  // 2.0 - 0.5 = 1.5 < 1.8
  Sampler s(p, 3);
  EXPECT_EQ(sample_once(s, logits, {}, generated).id, 1);
}

TEST(Sampler, PresenceAndFrequencyPenaltiesIgnoreThePrompt) {
  std::vector<float> logits = {2.0f, 1.8f, 0.0f};
  const std::vector<int32_t> prompt = {0, 0, 0};
  SamplingParams p = seeded();
  p.temperature = 0.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.5f;
  Sampler s(p, 3);
  EXPECT_EQ(sample_once(s, logits, prompt, {}).id, 0);
}

TEST(Sampler, FrequencyPenaltyScalesWithTheCount) {
  std::vector<float> logits = {2.0f, 1.8f, 0.0f};
  SamplingParams p = seeded();
  p.temperature = 0.0f;
  p.frequency_penalty = 0.1f;
  Sampler s(p, 3);
  const std::vector<int32_t> once = {0, 2};
  const std::vector<int32_t> thrice = {0, 2, 0, 0};
  EXPECT_EQ(sample_once(s, logits, {}, once).id, 0);    // 2.0 - 0.1 = 1.9 > 1.8
  EXPECT_EQ(sample_once(s, logits, {}, thrice).id, 1);  // 2.0 - 0.3 = 1.7 < 1.8
  EXPECT_EQ(sample_once(s, logits, {}, once).id, 0);    // counts do not leak between calls
}

TEST(Sampler, PresenceAndFrequencyCombineAsOpenAIDocuments) {
  // logit -= presence * [count > 0] + frequency * count, read back through the logprobs.
  std::vector<float> logits = {1.0f, 2.0f, 3.0f, 0.5f};
  SamplingParams p = seeded();
  p.presence_penalty = 0.25f;
  p.frequency_penalty = 0.5f;
  p.top_logprobs = 4;
  Sampler s(p, 4);
  const std::vector<int32_t> generated = {2, 1, 2};
  const auto out = sample_once(s, logits, {}, generated);
  const std::vector<float> expected = {1.0f, 2.0f - 0.75f, 3.0f - 1.25f, 0.5f};
  const auto ref = softmax(expected);
  ASSERT_EQ(out.top.size(), 4u);
  for (const auto& [id, lp] : out.top) EXPECT_NEAR(lp, std::log(ref[id]), 1e-5) << id;
}

TEST(Sampler, RepetitionPenaltyIsHuggingFaceStyle) {
  // Positive logits divided, negative multiplied, each distinct token of prompt + generated once.
  std::vector<float> logits = {2.0f, -1.0f, 1.5f, 0.5f};
  const std::vector<int32_t> prompt = {0};
  const std::vector<int32_t> generated = {1, 1};
  SamplingParams p = seeded();
  p.repetition_penalty = 2.0f;
  p.top_logprobs = 4;
  p.temperature = 0.0f;
  Sampler s(p, 4);
  const auto out = sample_once(s, logits, prompt, generated);
  EXPECT_EQ(out.id, 2);  // 2.0 / 2 = 1.0 < 1.5
  const auto ref = softmax({1.0f, -2.0f, 1.5f, 0.5f});
  ASSERT_EQ(out.top.size(), 4u);
  for (const auto& [id, lp] : out.top) EXPECT_NEAR(lp, std::log(ref[id]), 1e-5) << id;
  // Same sampler, next call: the seen-set does not leak (token 3 unpenalised, 0 penalised again).
  const auto again = sample_once(s, logits, prompt, generated);
  for (const auto& [id, lp] : again.top) EXPECT_NEAR(lp, std::log(ref[id]), 1e-5) << id;
}

TEST(Sampler, LogprobsAreALogSoftmaxOverTheWholeVocabulary) {
  auto logits = random_logits(20, 99);
  SamplingParams p = seeded();
  p.logprobs = true;
  p.top_logprobs = 20;
  Sampler s(p, 20);
  const auto out = sample_once(s, logits);
  ASSERT_EQ(out.top.size(), 20u);
  double total = 0;
  for (const auto& [id, lp] : out.top) total += std::exp(static_cast<double>(lp));
  EXPECT_NEAR(total, 1.0, 1e-5);
  for (size_t i = 1; i < out.top.size(); ++i) EXPECT_GE(out.top[i - 1].second, out.top[i].second);
  const auto ref = softmax(logits);
  for (const auto& [id, lp] : out.top) EXPECT_NEAR(lp, std::log(ref[id]), 1e-5);
  EXPECT_NEAR(out.logprob, std::log(ref[out.id]), 1e-5);
}

TEST(Sampler, LogprobsAreReportedBeforeTemperatureAndTruncation) {
  auto logits = random_logits(50, 5);
  SamplingParams p = seeded();
  p.temperature = 0.3f;
  p.top_k = 3;
  p.top_p = 0.5f;
  p.logprobs = true;
  p.top_logprobs = 5;
  Sampler s(p, 50);
  const auto ref = softmax(logits);
  for (int i = 0; i < 20; ++i) {
    const auto out = sample_once(s, logits);
    EXPECT_NEAR(out.logprob, std::log(ref[out.id]), 1e-5);
    ASSERT_EQ(out.top.size(), 5u);
    EXPECT_EQ(out.top[0].first, argmax(logits));
  }
}

TEST(Sampler, TopLogprobsTiesListLowerIdFirstAndSkipBannedTokens) {
  std::vector<float> logits = {1.0f, 2.0f, 2.0f, -kInf, 2.0f};
  SamplingParams p = seeded();
  p.top_logprobs = 5;
  Sampler s(p, 5);
  const auto out = sample_once(s, logits);
  ASSERT_EQ(out.top.size(), 4u);
  EXPECT_EQ(out.top[0].first, 1);
  EXPECT_EQ(out.top[1].first, 2);
  EXPECT_EQ(out.top[2].first, 4);
  EXPECT_EQ(out.top[3].first, 0);
}

TEST(Sampler, NoLogprobsRequestedLeavesThemEmpty) {
  auto logits = random_logits(100, 1);
  Sampler s(seeded(), 100);
  const auto out = sample_once(s, logits);
  EXPECT_EQ(out.logprob, 0.0f);
  EXPECT_TRUE(out.top.empty());
}

TEST(Sampler, LargeVocabularyRespectsTopKTopPMinP) {
  const int n = 151936;
  auto logits = random_logits(n, 77);
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + 40, order.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  const std::set<int32_t> top40(order.begin(), order.begin() + 40);
  SamplingParams p = seeded(3);
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.min_p = 0.01f;
  p.logprobs = true;
  Sampler s(p, n);
  const auto ref = softmax(logits);
  for (int i = 0; i < 200; ++i) {
    const auto out = sample_once(s, logits);
    ASSERT_TRUE(top40.count(out.id)) << out.id;
    EXPECT_NEAR(out.logprob, std::log(ref[out.id]), 1e-4);
  }
}

TEST(Sampler, LargeVocabularyTopPWithoutTopKStaysInsideTheExactNucleus) {
  // The histogram path: compare with a reference nucleus from a full sort in double.
  const int n = 151936;
  auto logits = random_logits(n, 31, 2.0f);
  const float t = 0.7f, top_p = 0.8f;
  const auto probs = softmax(logits, t);
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
  std::set<int32_t> nucleus;  // for p + 1e-4: float rounding may keep one token more
  std::set<int32_t> head;     // the nucleus of p = 0.5: ~3/8 of the draws must fall outside it
  double cum = 0;
  for (int32_t id : order) {
    if (cum < 0.5) head.insert(id);
    nucleus.insert(id);
    cum += probs[id];
    if (cum >= top_p + 1e-4) break;
  }
  ASSERT_GT(nucleus.size(), 100u);  // a real histogram boundary, not a trivial head
  SamplingParams p = seeded(12);
  p.temperature = t;
  p.top_p = top_p;
  Sampler s(p, n);
  int outside_head = 0;
  for (int i = 0; i < 200; ++i) {
    const int32_t id = sample_once(s, logits).id;
    ASSERT_TRUE(nucleus.count(id)) << id;
    outside_head += !head.count(id);
  }
  EXPECT_GT(outside_head, 40);  // expected 75: the cut is not too early either
}

TEST(Sampler, LargeVocabularyWithoutTopKMatchesTheSoftmaxHead) {
  // T = 1 over 151936 tokens with a clear head: the first token is drawn with its probability.
  const int n = 151936;
  auto logits = random_logits(n, 4, 1.0f);
  logits[123] = 13.0f;  // p ~ e^13 / (e^13 + n * e^0.5) ~ 0.64
  const double p123 = softmax(logits)[123];
  SamplingParams p = seeded(6);
  Sampler s(p, n);
  const int draws = 1000;
  int hits = 0;
  for (int i = 0; i < draws; ++i) hits += sample_once(s, logits).id == 123;
  const double sd = std::sqrt(draws * p123 * (1 - p123));
  EXPECT_NEAR(hits, draws * p123, 4 * sd);
}

TEST(Sampler, NanLogitsCountAsBanned) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> logits = {nan, 0.0f, nan, 1.0f};
  SamplingParams p = seeded();
  p.top_logprobs = 4;
  auto counts = draw_counts(p, logits, 2000);
  EXPECT_EQ(counts[0] + counts[2], 0);
  Sampler s(p, 4);
  const auto out = sample_once(s, logits);
  EXPECT_EQ(out.top.size(), 2u);
}

TEST(Sampler, AllBannedThrows) {
  std::vector<float> logits = {-kInf, -kInf};
  Sampler s(seeded(), 2);
  EXPECT_THROW(sample_once(s, logits), std::runtime_error);
}

TEST(Sampler, WrongLogitCountOrHistoryIdThrows) {
  Sampler s(seeded(), 4);
  std::vector<float> three(3, 0.0f);
  EXPECT_THROW(s.sample(three, {}, {}), std::invalid_argument);
  SamplingParams p = seeded();
  p.repetition_penalty = 1.1f;
  Sampler r(p, 4);
  const std::vector<int32_t> bad = {7};
  EXPECT_THROW(sample_once(r, std::vector<float>(4, 0.0f), bad, {}), std::invalid_argument);
}

TEST(Sampler, InvalidParametersAreRejected) {
  auto rejects = [](auto mutate) {
    SamplingParams p;
    mutate(p);
    EXPECT_THROW(Sampler(p, 10), std::invalid_argument);
  };
  rejects([](SamplingParams& p) { p.temperature = -1.0f; });
  rejects([](SamplingParams& p) { p.top_p = 0.0f; });
  rejects([](SamplingParams& p) { p.top_p = 1.5f; });
  rejects([](SamplingParams& p) { p.min_p = -0.1f; });
  rejects([](SamplingParams& p) { p.repetition_penalty = 0.0f; });
  rejects([](SamplingParams& p) { p.top_logprobs = 21; });
  rejects([](SamplingParams& p) { p.logit_bias = {{10, 1.0f}}; });
  rejects([](SamplingParams& p) { p.logit_bias = {{-1, 1.0f}}; });
  EXPECT_THROW(Sampler(SamplingParams{}, 0), std::invalid_argument);
}

TEST(SamplerExp, MatchesStdExpOnTheNonPositiveRange) {
  EXPECT_EQ(sampler_detail::exp_nonpositive(0.0f), 1.0f);
  EXPECT_EQ(sampler_detail::exp_nonpositive(-kInf), 0.0f);
  EXPECT_EQ(sampler_detail::exp_nonpositive(-100.0f), 0.0f);
  double worst = 0;
  for (float x = -87.0f; x <= 0.0f; x += 0.0137f) {
    const double ref = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(sampler_detail::exp_nonpositive(x) - ref) / ref);
  }
  EXPECT_LT(worst, 5e-7);
}

}  // namespace
}  // namespace toolgate::engine
