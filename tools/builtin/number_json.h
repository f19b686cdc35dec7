#pragma once
// How built-in tools hand numbers back to the model.
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace toolgate::tools {

// Whole numbers come back as JSON integers ("16", not "16.0": models echo what they read),
// as long as they are exact in a double (|v| <= 2^53). -0 becomes 0.
inline nlohmann::json number_json(double v) {
  if (!std::isfinite(v)) throw std::overflow_error("result is not a finite number");
  if (std::floor(v) == v && std::fabs(v) <= 9007199254740992.0) {
    return static_cast<long long>(v);
  }
  return v;
}

}  // namespace toolgate::tools
