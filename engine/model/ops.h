#pragma once
// Element-wise transformer operations on f32 rows (the matrix products live in kernels/).
#include <cstdint>

namespace toolgate::engine::ops {

// out[i] = x[i] / rms(x) * weight[i]
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps);
// x[i] = silu(x[i]) * up[i]  (SwiGLU gate)
void silu_mul(float* x, const float* up, int n);
// x[i] += y[i]
void add(float* x, const float* y, int n);
// In-place softmax; returns nothing, x sums to 1.
void softmax(float* x, int n);
// Rotates one head vector by precomputed cos/sin pairs (rope_dim/2 of each).
void rope_adjacent(float* head, const float* cos, const float* sin, int rope_dim);
void rope_half_split(float* head, const float* cos, const float* sin, int rope_dim, int head_dim);
// exp(x) to ~1e-7 relative accuracy for x in [-87, 88]; vectorizes where std::exp does not.
float fast_exp(float x);

}  // namespace toolgate::engine::ops
