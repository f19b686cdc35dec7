#pragma once
// What one more row adds to a decode forward pass, in units of a one-row pass, learnt from the
// engine's own steps rather than fixed in the code.
//
// Speculative decoding pays off only when verifying k proposals costs much less than k plain
// steps. How much less depends on the host: with AVX-512 VNNI a 16-row Q4_K matmul costs little
// more than a 1-row one (it reads the same weights), on AVX2 it costs several times as much, and
// a machine busy with other work shifts both. So every forward pass made only of decode and
// verify rows reports (rows, seconds), and a least-squares line seconds = a + b * rows over an
// exponentially decayed window gives row cost b / (a + b). Until the window holds steps of at
// least two different sizes the prior stands (AdaptiveK's probes of k = 1 supply the second
// size even when speculation is not paying).
#include <algorithm>

namespace toolgate::engine {

class RowCost {
 public:
  static constexpr double kDecay = 0.99;  // per observed step: a window of ~100 steps
  static constexpr double kMin = 0.02, kMax = 1.0;

  explicit RowCost(double prior) : prior_(std::clamp(prior, kMin, kMax)) {}

  void observe(int rows, double seconds) {
    if (rows < 1 || !(seconds > 0)) return;
    const double r = rows;
    n_ = n_ * kDecay + 1;
    sr_ = sr_ * kDecay + r;
    srr_ = srr_ * kDecay + r * r;
    st_ = st_ * kDecay + seconds;
    srt_ = srt_ * kDecay + r * seconds;
  }

  double value() const {
    // Weighted variance of the row counts: with (nearly) one size there is no slope to fit.
    const double det = n_ * srr_ - sr_ * sr_;
    if (n_ < 8 || det < 0.05 * n_ * n_) return prior_;
    const double b = (n_ * srt_ - sr_ * st_) / det;
    const double a = (st_ - b * sr_) / n_;
    if (!(a + b > 0)) return prior_;
    return std::clamp(b / (a + b), kMin, kMax);
  }

 private:
  double prior_;
  double n_ = 0, sr_ = 0, srr_ = 0, st_ = 0, srt_ = 0;
};

}  // namespace toolgate::engine
