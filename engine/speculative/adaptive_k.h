#pragma once
// How many tokens to propose next for one sequence: the k that maximises expected tokens per
// unit of compute, from the recent acceptance rate.
//
// Each verified proposal token is a Bernoulli trial (accepted or not; trials stop at the first
// rejection). With per-token acceptance a, a step that verifies k proposals yields
// E(k) = (1 - a^(k+1)) / (1 - a) tokens (the accepted run plus the model's own token) and costs
// 1 + (row_cost + propose_cost) * k decode-step units: row_cost is what one more row adds to a
// forward pass, propose_cost what producing one proposal costs (0 for prompt lookup, about the
// draft/target size ratio for a draft model). On CPUs decode is not purely memory-bound, so
// row_cost is far from 0 (LocalEngine's kVerifyRowCost) and a low acceptance rate makes k = 0
// (plain decoding) the best choice; then every kProbeEvery-th step still proposes one token, so
// the estimate can recover when the text becomes predictable. a is an exponential moving average
// over recent trials, so k follows the text: long for JSON the proposer predicts, short for prose.
#include <algorithm>
#include <cmath>

namespace toolgate::engine {

class AdaptiveK {
 public:
  static constexpr double kDecay = 0.9;  // per verify step
  static constexpr int kProbeEvery = 8;

  AdaptiveK() = default;
  AdaptiveK(int max_k, double row_cost, double propose_cost)
      : max_k_(std::max(1, max_k)), step_cost_(std::max(0.0, row_cost + propose_cost)) {}

  // `proposed` tokens were verified, the first `accepted` kept.
  void update(int proposed, int accepted) {
    if (proposed <= 0) return;
    const int trials = accepted + (accepted < proposed ? 1 : 0);
    trials_ = trials_ * kDecay + trials;
    accepted_ = accepted_ * kDecay + accepted;
  }

  double acceptance() const { return accepted_ / trials_; }

  // Expected tokens per decode-step unit of compute when proposing k.
  double gain(int k) const {
    const double a = std::clamp(acceptance(), 0.0, 0.999);
    const double tokens = (1.0 - std::pow(a, k + 1)) / (1.0 - a);
    return tokens / (1.0 + step_cost_ * k);
  }

  // Proposals for the next step (0 = decode plainly). Not const: counts steps for probing.
  int next() {
    int best = 0;
    for (int k = 1; k <= max_k_; ++k)
      if (gain(k) > gain(best) * 1.02) best = k;  // 2%: not worth a longer row for noise
    if (best == 0 && ++skipped_ % kProbeEvery == 0) return 1;
    return best;
  }

 private:
  int max_k_ = 1;
  double step_cost_ = 0.0;
  // Prior: one trial at 0.75. LocalEngine seeds each new sequence with the engine's running
  // estimate instead (agent loops send short requests: a per-request prior would dominate).
  double trials_ = 1.0;
  double accepted_ = 0.75;
  int skipped_ = 0;
};

}  // namespace toolgate::engine
