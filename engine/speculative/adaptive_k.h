#pragma once
// How many tokens to propose next for one sequence, from its recent acceptance rate.
//
// Each verified proposal token is a Bernoulli trial (accepted or not; trials stop at the first
// rejection). With per-token acceptance a, the i-th proposed token is used with probability a^i
// while each costs about the same extra compute in the verify pass, so proposing stops where
// a^k falls below kMinUseProbability. a is an exponential moving average over recent trials, so
// k follows the text: long for JSON the proposer predicts well, short for free prose.
#include <algorithm>
#include <cmath>

namespace toolgate::engine {

class AdaptiveK {
 public:
  static constexpr double kMinUseProbability = 0.3;
  static constexpr double kDecay = 0.9;  // per verify step

  explicit AdaptiveK(int max_k) : max_k_(std::max(1, max_k)) {}

  // `proposed` tokens were verified, the first `accepted` kept.
  void update(int proposed, int accepted) {
    if (proposed <= 0) return;
    const int trials = accepted + (accepted < proposed ? 1 : 0);
    trials_ = trials_ * kDecay + trials;
    accepted_ = accepted_ * kDecay + accepted;
  }

  double acceptance() const { return accepted_ / trials_; }

  int next() const {
    const double a = acceptance();
    if (a >= 0.999) return max_k_;
    if (a <= 0.0) return 1;
    const double k = std::log(kMinUseProbability) / std::log(a);
    return std::clamp(static_cast<int>(k), 1, max_k_);
  }

 private:
  int max_k_;
  // Prior: one trial at 0.75 (k starts near 4): guesses are cheap to verify at the start.
  double trials_ = 1.0;
  double accepted_ = 0.75;
};

}  // namespace toolgate::engine
