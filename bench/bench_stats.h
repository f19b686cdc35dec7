#pragma once
// Percentiles and JSON summaries shared by the server benchmarks.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace toolgate::bench {

// The 1-minute load average: printed beside every figure, since on a shared machine a figure
// without it cannot be compared with anything.
inline double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(rank));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

inline double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Adds mean_/median_/p90_/p99_/std_<name>_ms fields (vLLM benchmark_serving style).
inline void add_distribution(nlohmann::json& out, const std::string& name,
                             const std::vector<double>& ms) {
  double m = mean(ms);
  double var = 0;
  for (double x : ms) var += (x - m) * (x - m);
  out["mean_" + name + "_ms"] = m;
  out["median_" + name + "_ms"] = percentile(ms, 50);
  out["p90_" + name + "_ms"] = percentile(ms, 90);
  out["p99_" + name + "_ms"] = percentile(ms, 99);
  out["std_" + name + "_ms"] = ms.empty() ? 0 : std::sqrt(var / static_cast<double>(ms.size()));
}

}  // namespace toolgate::bench
