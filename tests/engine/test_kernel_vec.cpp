// vec.h primitives on every ISA path vs the scalar path (and vs their definition).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/kernels/cpu_features.h"
#include "engine/kernels/quant_blocks.h"
#include "engine/kernels/vec.h"

namespace toolgate::engine {
namespace {

struct IsaGuard {
  explicit IsaGuard(IsaLevel l) { force_isa(l); }
  ~IsaGuard() { reset_isa(); }
};

const int kLengths[] = {0, 1, 7, 8, 15, 16, 31, 33, 64, 100, 257};

std::vector<float> random_floats(int n, std::mt19937& rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<uint16_t> to_f16(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = f32_to_fp16(v[i]);
  return h;
}

// Summation order differs between paths: allow float rounding of the magnitude sum.
double dot_tol(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m += std::fabs(a[i] * b[i]);
  return 1e-5 * m + 1e-6;
}

TEST(KernelVec, FloatAndHalfPrimitivesMatchScalar) {
  std::mt19937 rng(3);
  for (int lvl = 0; lvl <= static_cast<int>(detected_isa()); ++lvl) {
    for (int n : kLengths) {
      const auto a = random_floats(n, rng), b = random_floats(n, rng), y0 = random_floats(n, rng);
      const auto ah = to_f16(a);
      std::vector<float> a_rounded(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) a_rounded[j] = fp16_to_f32(ah[j]);

      float dot_h_ref, dot_ref;
      std::vector<float> axh_ref = y0, ax_ref = y0, back_ref(static_cast<size_t>(n));
      std::vector<uint16_t> conv_ref(static_cast<size_t>(n));
      {
        IsaGuard g(IsaLevel::Scalar);
        dot_h_ref = dot_f16_f32(ah.data(), b.data(), n);
        dot_ref = dot_f32(a.data(), b.data(), n);
        axpy_f16_f32(0.75f, ah.data(), axh_ref.data(), n);
        axpy_f32(-1.25f, a.data(), ax_ref.data(), n);
        f32_to_f16_row(a.data(), conv_ref.data(), n);
        f16_to_f32_row(ah.data(), back_ref.data(), n);
      }
      IsaGuard g(static_cast<IsaLevel>(lvl));
      EXPECT_NEAR(dot_f16_f32(ah.data(), b.data(), n), dot_h_ref, dot_tol(a_rounded, b))
          << lvl << " " << n;
      EXPECT_NEAR(dot_f32(a.data(), b.data(), n), dot_ref, dot_tol(a, b)) << lvl << " " << n;
      std::vector<float> axh = y0, ax = y0, back(static_cast<size_t>(n));
      std::vector<uint16_t> conv(static_cast<size_t>(n));
      axpy_f16_f32(0.75f, ah.data(), axh.data(), n);
      axpy_f32(-1.25f, a.data(), ax.data(), n);
      f32_to_f16_row(a.data(), conv.data(), n);
      f16_to_f32_row(ah.data(), back.data(), n);
      for (int j = 0; j < n; ++j) {
        EXPECT_NEAR(axh[j], axh_ref[j], 1e-6f) << lvl;  // fma vs mul+add: one rounding apart
        EXPECT_NEAR(ax[j], ax_ref[j], 1e-6f) << lvl;
        EXPECT_EQ(conv[j], conv_ref[j]) << lvl << " j=" << j;  // both round to nearest even
        EXPECT_EQ(back[j], back_ref[j]) << lvl;
      }
    }
  }
}

TEST(KernelVec, BlockRowsMatchPerRowPrimitives) {
  std::mt19937 rng(9);
  for (int lvl = 0; lvl <= static_cast<int>(detected_isa()); ++lvl) {
    IsaGuard g(static_cast<IsaLevel>(lvl));
    for (int n : {8, 33, 64, 128}) {
      for (int rows : {1, 5, 16}) {
        const size_t stride = static_cast<size_t>(n) + 24;
        const auto xs = to_f16(random_floats(static_cast<int>(stride) * rows, rng));
        const auto b = random_floats(n, rng), alpha = random_floats(rows, rng);
        std::vector<float> out(static_cast<size_t>(rows));
        dot_f16_f32_rows(xs.data(), stride, rows, b.data(), n, 0.5f, out.data());
        auto y = random_floats(n, rng);
        auto y_ref = y;
        axpy_f16_f32_rows(alpha.data(), xs.data(), stride, rows, y.data(), n);
        for (int r = 0; r < rows; ++r) {
          EXPECT_NEAR(out[r], 0.5f * dot_f16_f32(xs.data() + r * stride, b.data(), n), 1e-4)
              << lvl << " n=" << n;
          axpy_f16_f32(alpha[r], xs.data() + r * stride, y_ref.data(), n);
        }
        for (int j = 0; j < n; ++j) EXPECT_NEAR(y[j], y_ref[j], 1e-5) << lvl << " n=" << n;
      }
    }
  }
}

TEST(KernelVec, SiluMulAndSoftmaxMatchDefinition) {
  std::mt19937 rng(5);
  for (int lvl = 0; lvl <= static_cast<int>(detected_isa()); ++lvl) {
    IsaGuard g(static_cast<IsaLevel>(lvl));
    for (int n : kLengths) {
      if (n == 0) continue;
      const auto gate = random_floats(n, rng, 12.0f), up = random_floats(n, rng);
      auto s = gate;
      silu_mul_f32(s.data(), up.data(), n);
      auto p = random_floats(n, rng, 30.0f);
      const auto logits = p;
      softmax_f32(p.data(), n);
      double mx = logits[0], z = 0;
      for (float v : logits) mx = std::max<double>(mx, v);
      for (float v : logits) z += std::exp(v - mx);
      for (int j = 0; j < n; ++j) {
        const double silu = gate[j] / (1.0 + std::exp(-static_cast<double>(gate[j]))) * up[j];
        EXPECT_NEAR(s[j], silu, 1e-5 * (std::fabs(silu) + 1e-3)) << lvl << " n=" << n;
        EXPECT_NEAR(p[j], std::exp(logits[j] - mx) / z, 1e-6) << lvl << " n=" << n;
      }
    }
  }
}

TEST(KernelVec, Int8KvRowsRoundTripAndMatchScalar) {
  std::mt19937 rng(5);
  for (int lvl = 0; lvl <= static_cast<int>(detected_isa()); ++lvl) {
    for (int n : kLengths) {
      auto x = random_floats(n, rng, 3.0f);
      if (n > 3) x[2] = 9.0f;  // asymmetric range
      const auto b = random_floats(n, rng), y0 = random_floats(n, rng);
      std::vector<int8_t> q_ref(static_cast<size_t>(n)), q(static_cast<size_t>(n));
      float s_ref, z_ref, s, z;
      {
        IsaGuard g(IsaLevel::Scalar);
        quantize_kv_int8(x.data(), n, q_ref.data(), &s_ref, &z_ref);
      }
      IsaGuard g(static_cast<IsaLevel>(lvl));
      quantize_kv_int8(x.data(), n, q.data(), &s, &z);
      EXPECT_EQ(s, s_ref);
      EXPECT_EQ(z, z_ref);
      std::vector<float> deq(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) {
        ASSERT_EQ(q[j], q_ref[j]) << "isa " << lvl << " n " << n << " j " << j;
        deq[j] = s * q[j] + z;
        EXPECT_LE(std::fabs(deq[j] - x[j]), s * 0.5f + 1e-5f);  // half a level
      }
      double want = 0;
      for (int j = 0; j < n; ++j) want += static_cast<double>(deq[j]) * b[j];
      EXPECT_NEAR(dot_kv_int8_f32(q.data(), s, z, b.data(), n), want, dot_tol(deq, b) + 1e-4)
          << lvl;
      std::vector<float> y = y0;
      axpy_kv_int8_f32(0.5f, q.data(), s, z, y.data(), n);
      for (int j = 0; j < n; ++j) EXPECT_NEAR(y[j], y0[j] + 0.5f * deq[j], 1e-5f) << lvl;
    }
  }
}

TEST(KernelVec, ConstantKvRowHasZeroScale) {
  std::vector<float> x(40, 2.5f);
  std::vector<int8_t> q(40, 99);
  float s, z;
  quantize_kv_int8(x.data(), 40, q.data(), &s, &z);
  EXPECT_EQ(s, 0.0f);
  EXPECT_EQ(z, 2.5f);
  for (int8_t v : q) EXPECT_EQ(v, 0);
}

// int4 groups: identical bytes on every ISA (quantizing is shared); every value inside the chosen
// range within half a level of it, values outside clipped to the end levels; the range's squared
// error no worse than plain min-max levels; dot and axpy equal to their definition over the
// dequantized row.
TEST(KernelVec, Int4KvGroupsRoundTripAndMatchDefinition) {
  std::mt19937 rng(11);
  for (int lvl = 0; lvl <= static_cast<int>(detected_isa()); ++lvl) {
    for (int n : {32, 64, 128}) {
      auto x = random_floats(n, rng, 2.0f);
      x[3] = 7.0f;  // one group with a skewed range
      if (n > 32) std::fill(x.begin() + 32, x.begin() + 64, -1.25f);  // a constant group
      const auto b = random_floats(n, rng), y0 = random_floats(n, rng);
      std::vector<uint8_t> q_ref(size_t(n) / 2), q(size_t(n) / 2);
      std::vector<float> p_ref(size_t(n) / kKvInt4Group * 2), p(p_ref.size());
      {
        IsaGuard g(IsaLevel::Scalar);
        quantize_kv_int4(x.data(), n, q_ref.data(), p_ref.data());
      }
      IsaGuard g(static_cast<IsaLevel>(lvl));
      quantize_kv_int4(x.data(), n, q.data(), p.data());
      ASSERT_EQ(q, q_ref) << "isa " << lvl;
      ASSERT_EQ(p, p_ref) << "isa " << lvl;
      std::vector<float> deq(static_cast<size_t>(n));
      std::vector<double> err(size_t(n) / kKvInt4Group), minmax_err(err.size());
      for (int j = 0; j < n; ++j) {
        const int grp = j / kKvInt4Group, k = j % kKvInt4Group;
        const uint8_t byte = q[size_t(grp) * 16 + size_t(k % 16)];
        const int level = k < 16 ? (byte & 0xF) : (byte >> 4);
        const float s = p[2 * grp], z = p[2 * grp + 1];
        deq[j] = s * static_cast<float>(level) + z;
        if (x[j] >= z && x[j] <= z + 15 * s)
          EXPECT_LE(std::fabs(deq[j] - x[j]), s * 0.5f + 1e-5f) << "j " << j;
        else
          EXPECT_EQ(level, x[j] < z ? 0 : 15) << "j " << j;
        err[grp] += (deq[j] - x[j]) * (deq[j] - x[j]);
      }
      for (size_t grp = 0; grp < err.size(); ++grp) {
        const float* xg = &x[grp * kKvInt4Group];
        const float lo = *std::min_element(xg, xg + kKvInt4Group);
        const float hi = *std::max_element(xg, xg + kKvInt4Group);
        const float s = (hi - lo) / 15.0f;
        for (int k = 0; k < kKvInt4Group && s > 0; ++k) {
          const double d = s * std::nearbyint((xg[k] - lo) / s) + lo - xg[k];
          minmax_err[grp] += d * d;
        }
        EXPECT_LE(err[grp], minmax_err[grp] * (1 + 1e-4) + 1e-9) << "group " << grp;
      }
      if (n > 32) {
        EXPECT_EQ(p[2], 0.0f);  // the constant group: scale 0, exact
        EXPECT_EQ(deq[40], -1.25f);
      }
      double want = 0;
      for (int j = 0; j < n; ++j) want += static_cast<double>(deq[j]) * b[j];
      EXPECT_NEAR(dot_kv_int4_f32(q.data(), p.data(), b.data(), n), want, dot_tol(deq, b) + 1e-4) << lvl;
      std::vector<float> y = y0;
      axpy_kv_int4_f32(0.5f, q.data(), p.data(), y.data(), n);
      for (int j = 0; j < n; ++j) EXPECT_NEAR(y[j], y0[j] + 0.5f * deq[j], 1e-5f) << lvl;
    }
  }
}

}  // namespace
}  // namespace toolgate::engine
