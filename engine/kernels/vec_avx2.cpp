// AVX2 + FMA + F16C versions of the vec.h primitives (the AVX-512 table uses these too: the
// rows are short — one head, one KV position — so 256-bit vectors are not the limit).
#include <immintrin.h>

#include "engine/kernels/kernel_table.h"
#include "engine/kernels/vec.h"

namespace toolgate::engine {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

float dot_f16_f32_v(const uint16_t* a, const float* b, int n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int j = 0;
  for (; j + 16 <= n; j += 16) {
    acc0 = _mm256_fmadd_ps(load_f16x8(a + j), _mm256_loadu_ps(b + j), acc0);
    acc1 = _mm256_fmadd_ps(load_f16x8(a + j + 8), _mm256_loadu_ps(b + j + 8), acc1);
  }
  if (j + 8 <= n) {
    acc0 = _mm256_fmadd_ps(load_f16x8(a + j), _mm256_loadu_ps(b + j), acc0);
    j += 8;
  }
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; j < n; ++j) s += _cvtsh_ss(a[j]) * b[j];
  return s;
}

void axpy_f16_f32_v(float alpha, const uint16_t* x, float* y, int n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(y + j, _mm256_fmadd_ps(va, load_f16x8(x + j), _mm256_loadu_ps(y + j)));
  for (; j < n; ++j) y[j] += alpha * _cvtsh_ss(x[j]);
}

void f32_to_f16_row_v(const float* x, uint16_t* y, int n) {
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + j),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + j), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; j < n; ++j) y[j] = _cvtss_sh(x[j], _MM_FROUND_TO_NEAREST_INT);
}

void f16_to_f32_row_v(const uint16_t* x, float* y, int n) {
  int j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, load_f16x8(x + j));
  for (; j < n; ++j) y[j] = _cvtsh_ss(x[j]);
}

float dot_f32_v(const float* a, const float* b, int n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int j = 0;
  for (; j + 16 <= n; j += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), acc1);
  }
  if (j + 8 <= n) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    j += 8;
  }
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; j < n; ++j) s += a[j] * b[j];
  return s;
}

void axpy_f32_v(float alpha, const float* x, float* y, int n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(y + j, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
  for (; j < n; ++j) y[j] += alpha * x[j];
}

// Same arithmetic as the scalar version (min/max are exact, rounding is nearest-even, packs
// saturate exactly like the clamp), so both paths produce identical bytes.
void quantize_kv_int8_v(const float* x, int n, int8_t* q, float* scale, float* zero) {
  if (n < 32) {  // short rows: the scalar code is as fast and handles n == 0
    KernelTable t{};
    fill_vec_scalar(t);
    t.quantize_kv_int8(x, n, q, scale, zero);
    return;
  }
  __m256 lo = _mm256_loadu_ps(x), hi = lo;
  int j = 8;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    lo = _mm256_min_ps(lo, v);
    hi = _mm256_max_ps(hi, v);
  }
  __m128 l4 = _mm_min_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));
  __m128 h4 = _mm_max_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));
  l4 = _mm_min_ps(l4, _mm_movehl_ps(l4, l4));
  h4 = _mm_max_ps(h4, _mm_movehl_ps(h4, h4));
  float mn = _mm_cvtss_f32(_mm_min_ss(l4, _mm_movehdup_ps(l4)));
  float mx = _mm_cvtss_f32(_mm_max_ss(h4, _mm_movehdup_ps(h4)));
  for (; j < n; ++j) {
    mn = x[j] < mn ? x[j] : mn;
    mx = x[j] > mx ? x[j] : mx;
  }
  const float s = (mx - mn) / 255.0f;
  if (!(s > 0.0f)) {
    *scale = 0.0f;
    *zero = mn;
    for (int k = 0; k < n; ++k) q[k] = 0;
    return;
  }
  const float z = mn + 128.0f * s;
  const float inv = 1.0f / s;
  const __m256 vz = _mm256_set1_ps(z), vi = _mm256_set1_ps(inv);
  j = 0;
  for (; j + 32 <= n; j += 32) {
    __m256i i32[4];
    for (int k = 0; k < 4; ++k) {
      i32[k] =
          _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8 * k), vz), vi));
    }
    const __m256i p =
        _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j),
                        _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
  for (; j < n; ++j) {
    float v = __builtin_nearbyintf((x[j] - z) * inv);
    v = v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v);
    q[j] = static_cast<int8_t>(v);
  }
  *scale = s;
  *zero = z;
}

inline __m256 load_i8x8(const int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

float dot_kv_int8_f32_v(const int8_t* q, float scale, float zero, const float* b, int n) {
  __m256 qb = _mm256_setzero_ps(), sb = _mm256_setzero_ps();
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 vb = _mm256_loadu_ps(b + j);
    qb = _mm256_fmadd_ps(load_i8x8(q + j), vb, qb);
    sb = _mm256_add_ps(sb, vb);
  }
  float fq = hsum(qb), fs = hsum(sb);
  for (; j < n; ++j) {
    fq += static_cast<float>(q[j]) * b[j];
    fs += b[j];
  }
  return scale * fq + zero * fs;
}

void dot_f16_f32_rows_v(const uint16_t* a, size_t stride, int rows, const float* b, int n,
                        float scale, float* out) {
  if (n == 64) {  // the common head size: b stays in registers across the rows
    __m256 bv[8];
    for (int k = 0; k < 8; ++k) bv[k] = _mm256_loadu_ps(b + 8 * k);
    for (int r = 0; r < rows; ++r) {
      const uint16_t* ar = a + r * stride;
      __m256 acc0 = _mm256_mul_ps(load_f16x8(ar), bv[0]);
      __m256 acc1 = _mm256_mul_ps(load_f16x8(ar + 8), bv[1]);
      for (int k = 2; k < 8; k += 2) {
        acc0 = _mm256_fmadd_ps(load_f16x8(ar + 8 * k), bv[k], acc0);
        acc1 = _mm256_fmadd_ps(load_f16x8(ar + 8 * k + 8), bv[k + 1], acc1);
      }
      out[r] = scale * hsum(_mm256_add_ps(acc0, acc1));
    }
    return;
  }
  for (int r = 0; r < rows; ++r) out[r] = scale * dot_f16_f32_v(a + r * stride, b, n);
}

void axpy_f16_f32_rows_v(const float* alpha, const uint16_t* x, size_t stride, int rows, float* y,
                         int n) {
  int j = 0;
  for (; j + 64 <= n; j += 64) {  // 64 columns of y live in 8 registers across all rows
    __m256 acc[8];
    for (int k = 0; k < 8; ++k) acc[k] = _mm256_loadu_ps(y + j + 8 * k);
    for (int r = 0; r < rows; ++r) {
      const __m256 va = _mm256_set1_ps(alpha[r]);
      const uint16_t* xr = x + r * stride + j;
      for (int k = 0; k < 8; ++k) acc[k] = _mm256_fmadd_ps(va, load_f16x8(xr + 8 * k), acc[k]);
    }
    for (int k = 0; k < 8; ++k) _mm256_storeu_ps(y + j + 8 * k, acc[k]);
  }
  if (j < n) {
    for (int r = 0; r < rows; ++r) axpy_f16_f32_v(alpha[r], x + r * stride + j, y + j, n - j);
  }
}

// The scalar exp_poly_s polynomial, 8 lanes at a time (fma-contracted, so within an ulp or so).
inline __m256 exp_poly8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

void silu_mul_f32_v(float* x, const float* up, int n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 g = _mm256_loadu_ps(x + j);
    const __m256 e = exp_poly8(_mm256_xor_ps(g, sign));
    _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)),
                                          _mm256_loadu_ps(up + j)));
  }
  if (j < n) {
    alignas(32) float g[8] = {}, u[8] = {};
    for (int i = j; i < n; ++i) g[i - j] = x[i], u[i - j] = up[i];
    silu_mul_f32_v(g, u, 8);
    for (int i = j; i < n; ++i) x[i] = g[i - j];
  }
}

void softmax_f32_v(float* x, int n) {
  __m256 mx8 = _mm256_set1_ps(x[0]);
  int j = 0;
  for (; j + 8 <= n; j += 8) mx8 = _mm256_max_ps(mx8, _mm256_loadu_ps(x + j));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx8), _mm256_extractf128_ps(mx8, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float mx = _mm_cvtss_f32(m4);
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 sum8 = _mm256_setzero_ps();
  j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp_poly8(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmx));
    _mm256_storeu_ps(x + j, e);
    sum8 = _mm256_add_ps(sum8, e);
  }
  float sum = hsum(sum8);
  if (j < n) {
    alignas(32) float t[8];
    for (int i = 0; i < 8; ++i) t[i] = j + i < n ? x[j + i] - mx : -87.0f;
    _mm256_store_ps(t, exp_poly8(_mm256_load_ps(t)));
    for (int i = j; i < n; ++i) x[i] = t[i - j], sum += t[i - j];
  }
  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
  for (; j < n; ++j) x[j] *= 1.0f / sum;
}

void axpy_kv_int8_f32_v(float alpha, const int8_t* q, float scale, float zero, float* y, int n) {
  const float as = alpha * scale, az = alpha * zero;
  const __m256 vas = _mm256_set1_ps(as), vaz = _mm256_set1_ps(az);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    _mm256_storeu_ps(
        y + j, _mm256_add_ps(_mm256_fmadd_ps(vas, load_i8x8(q + j), vaz), _mm256_loadu_ps(y + j)));
  }
  for (; j < n; ++j) y[j] += as * static_cast<float>(q[j]) + az;
}

// One int4 group (16 bytes, 32 values) as four vectors of 8 floats, in value order.
struct Int4Group {
  __m256 v[4];
};
inline Int4Group load_int4_group(const uint8_t* q) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(bytes, mask);                     // values 0..15
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);  // values 16..31
  Int4Group g;
  g.v[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
  g.v[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
  g.v[2] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
  g.v[3] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
  return g;
}

float dot_kv_int4_f32_v(const uint8_t* q, const float* params, const float* b, int n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int g0 = 0; g0 < n; g0 += kKvInt4Group, q += kKvInt4Group / 2, params += 2) {
    const __m256 vs = _mm256_set1_ps(params[0]), vz = _mm256_set1_ps(params[1]);
    const Int4Group g = load_int4_group(q);
    for (int i = 0; i < 4; i += 2) {
      acc0 = _mm256_fmadd_ps(_mm256_fmadd_ps(g.v[i], vs, vz), _mm256_loadu_ps(b + g0 + 8 * i), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_fmadd_ps(g.v[i + 1], vs, vz), _mm256_loadu_ps(b + g0 + 8 * i + 8), acc1);
    }
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

void axpy_kv_int4_f32_v(float alpha, const uint8_t* q, const float* params, float* y, int n) {
  for (int g0 = 0; g0 < n; g0 += kKvInt4Group, q += kKvInt4Group / 2, params += 2) {
    const __m256 vas = _mm256_set1_ps(alpha * params[0]), vaz = _mm256_set1_ps(alpha * params[1]);
    const Int4Group g = load_int4_group(q);
    for (int i = 0; i < 4; ++i) {
      float* yi = y + g0 + 8 * i;
      _mm256_storeu_ps(yi, _mm256_add_ps(_mm256_fmadd_ps(g.v[i], vas, vaz), _mm256_loadu_ps(yi)));
    }
  }
}

}  // namespace

void fill_vec_avx2(KernelTable& t) {
  t.dot_f16_f32 = dot_f16_f32_v;
  t.axpy_f16_f32 = axpy_f16_f32_v;
  t.f32_to_f16_row = f32_to_f16_row_v;
  t.f16_to_f32_row = f16_to_f32_row_v;
  t.dot_f32 = dot_f32_v;
  t.axpy_f32 = axpy_f32_v;
  t.dot_f16_f32_rows = dot_f16_f32_rows_v;
  t.axpy_f16_f32_rows = axpy_f16_f32_rows_v;
  t.silu_mul_f32 = silu_mul_f32_v;
  t.softmax_f32 = softmax_f32_v;
  t.quantize_kv_int8 = quantize_kv_int8_v;
  t.dot_kv_int8_f32 = dot_kv_int8_f32_v;
  t.axpy_kv_int8_f32 = axpy_kv_int8_f32_v;
  // Quantizing is one row per token and layer, far from the hot loop: the scalar code serves.
  KernelTable scalar{};
  fill_vec_scalar(scalar);
  t.quantize_kv_int4 = scalar.quantize_kv_int4;
  t.dot_kv_int4_f32 = dot_kv_int4_f32_v;
  t.axpy_kv_int4_f32 = axpy_kv_int4_f32_v;
}

}  // namespace toolgate::engine
