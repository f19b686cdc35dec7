#include "engine/model/ops.h"

#include <cmath>
#include <cstring>

#include "engine/kernels/vec.h"

namespace toolgate::engine::ops {

float fast_exp(float x) {
  // exp(x) = 2^k * exp(r), k = round(x / ln2), r = x - k ln2 in [-ln2/2, ln2/2]; degree-6 polynomial.
  x = std::fmin(std::fmax(x, -87.0f), 88.0f);
  const float k = std::nearbyint(x * 1.44269504088896341f);
  const float r = x - k * 0.693145751953125f - k * 1.428606765330187e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// ops.cpp is compiled for baseline x86-64: the loops with an exp or a reduction go through the
// dispatched vec.h kernels (AVX2 where available), the rest auto-vectorizes with SSE.
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  const float ss = dot_f32(x, x, n);
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int i = 0; i < n; ++i) out[i] = x[i] * inv * weight[i];
}

void silu_mul(float* x, const float* up, int n) { silu_mul_f32(x, up, n); }

void add(float* x, const float* y, int n) {
  for (int i = 0; i < n; ++i) x[i] += y[i];
}

void softmax(float* x, int n) { softmax_f32(x, n); }

void rope_adjacent(float* h, const float* cos, const float* sin, int rope_dim) {
  for (int i = 0; i < rope_dim / 2; ++i) {
    const float a = h[2 * i], b = h[2 * i + 1];
    h[2 * i] = a * cos[i] - b * sin[i];
    h[2 * i + 1] = a * sin[i] + b * cos[i];
  }
}

void rope_half_split(float* h, const float* cos, const float* sin, int rope_dim, int /*head_dim*/) {
  const int half = rope_dim / 2;
  for (int i = 0; i < half; ++i) {
    const float a = h[i], b = h[i + half];
    h[i] = a * cos[i] - b * sin[i];
    h[i + half] = a * sin[i] + b * cos[i];
  }
}

}  // namespace toolgate::engine::ops
