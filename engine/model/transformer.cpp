#include "engine/model/transformer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "engine/kernels/dequant.h"
#include "engine/kernels/vec.h"
#include "engine/model/ops.h"

namespace toolgate::engine {

Transformer::Transformer(const HParams& hp, const Weights& w, ThreadPool& pool, int max_tokens,
                         int max_logit_rows, int max_context)
    : hp_(hp), w_(w), pool_(pool), max_tokens_(max_tokens), max_logit_rows_(max_logit_rows),
      max_context_(max_context), lora_(pool.size()) {
  const size_t T = static_cast<size_t>(max_tokens);
  x_.resize(T * hp.n_embd);
  xb_.resize(T * hp.n_embd);
  q_.resize(T * hp.q_dim());
  k_.resize(T * hp.kv_dim());
  v_.resize(T * hp.kv_dim());
  att_.resize(T * hp.q_dim());
  gate_.resize(T * hp.n_ff);
  up_.resize(T * hp.n_ff);
  rope_cos_.resize(T * hp.rope_dim / 2);
  rope_sin_.resize(T * hp.rope_dim / 2);
  scores_.resize(static_cast<size_t>(pool.size()) * max_context);
  xl_.resize(static_cast<size_t>(max_logit_rows) * hp.n_embd);
  inv_freq_.resize(hp.rope_dim / 2);
  for (int i = 0; i < hp.rope_dim / 2; ++i)
    inv_freq_[i] = std::pow(hp.rope_freq_base, -2.0f * static_cast<float>(i) / static_cast<float>(hp.rope_dim));
  tok_seq_.reserve(T);
  tok_pos_.reserve(T);
  tok_ids_.reserve(T);
  logit_rows_.reserve(T);
  kv_row_.resize(static_cast<size_t>(pool.size()) * hp.head_dim);
  q_scaled_.resize(static_cast<size_t>(pool.size()) * hp.head_dim);
}

void Transformer::set_kv_transform(KvTransform t) {
  const size_t n = static_cast<size_t>(hp_.n_layer) * hp_.kv_dim();
  for (const auto* v : {&t.key_offset, &t.key_scale, &t.value_scale})
    if (!v->empty() && v->size() != n) throw std::invalid_argument("KV transform vectors must be (n_layer, kv_dim)");
  for (int kvi = 0; kvi < 2; ++kvi) {
    const auto& sc = kvi == 0 ? t.key_scale : t.value_scale;
    kv_inv_scale_[kvi].resize(sc.size());
    for (size_t i = 0; i < sc.size(); ++i) {
      if (!(sc[i] > 0.0f)) throw std::invalid_argument("KV transform scales must be positive");
      kv_inv_scale_[kvi][i] = 1.0f / sc[i];
    }
  }
  kv_transform_ = std::move(t);
}

Transformer::KvStats Transformer::kv_stats(std::span<const int32_t> tokens) {
  const int n = std::min(static_cast<int>(tokens.size()), max_context_);
  const int KD = hp_.kv_dim(), BS = 16;
  const size_t N = static_cast<size_t>(hp_.n_layer) * KD;
  KvStats st{std::vector<float>(N, 0.0f), std::vector<float>(N, 0.0f), std::vector<float>(N, 0.0f)};
  if (n == 0) return st;
  KvStore kv(hp_, (n + BS - 1) / BS, BS, KvDtype::F16);
  std::vector<int> table(static_cast<size_t>(kv.num_blocks()));
  std::iota(table.begin(), table.end(), 0);
  for (int pos = 0; pos < n; pos += max_tokens_) {
    const BatchSeq b{tokens.data() + pos, std::min(max_tokens_, n - pos), pos, table, BatchSeq::Logits::None};
    forward(std::span<const BatchSeq>(&b, 1), kv, nullptr);
  }
  std::vector<float> row(static_cast<size_t>(KD));
  std::vector<double> sum(static_cast<size_t>(KD)), sum2(static_cast<size_t>(KD));
  for (int l = 0; l < hp_.n_layer; ++l) {
    for (int kvi = 0; kvi < 2; ++kvi) {
      std::fill(sum.begin(), sum.end(), 0.0);
      std::fill(sum2.begin(), sum2.end(), 0.0);
      for (int p = 0; p < n; ++p) {
        f16_to_f32_row(static_cast<const uint16_t*>(kv.rows(table[p / BS], l, kvi)) + size_t(p % BS) * KD, row.data(), KD);
        for (int j = 0; j < KD; ++j) {
          sum[j] += row[j];
          sum2[j] += static_cast<double>(row[j]) * row[j];
        }
      }
      float* mean = kvi == 0 ? &st.key_mean[size_t(l) * KD] : nullptr;
      float* rms = &(kvi == 0 ? st.key_rms : st.value_rms)[size_t(l) * KD];
      for (int j = 0; j < KD; ++j) {
        const double m = sum[j] / n;
        if (mean) mean[j] = static_cast<float>(m);
        rms[j] = static_cast<float>(std::sqrt(std::max(0.0, sum2[j] / n - m * m)));
      }
    }
  }
  return st;
}

void Transformer::forward(std::span<const BatchSeq> batch, KvStore& kv, float* logits) {
  const int D = hp_.n_embd;
  tok_seq_.clear();
  tok_pos_.clear();
  tok_ids_.clear();
  logit_rows_.clear();
  lora_runs_.clear();
  for (size_t s = 0; s < batch.size(); ++s) {
    const BatchSeq& b = batch[s];
    if (b.adapter && b.n > 0) lora_runs_.push_back({b.adapter, static_cast<int>(tok_ids_.size()), b.n});
    if (b.pos0 + b.n > max_context_) throw std::length_error("sequence exceeds the context length");
    if (static_cast<size_t>((b.pos0 + b.n + kv.block_size() - 1) / kv.block_size()) > b.block_table.size())
      throw std::logic_error("block table does not cover the tokens of this step");
    for (int j = 0; j < b.n; ++j) {
      if (b.logits == BatchSeq::Logits::All || (b.logits == BatchSeq::Logits::Last && j == b.n - 1))
        logit_rows_.push_back(static_cast<int>(tok_ids_.size()));
      tok_seq_.push_back(static_cast<int>(s));
      tok_pos_.push_back(b.pos0 + j);
      tok_ids_.push_back(b.tokens[j]);
    }
  }
  const int T = static_cast<int>(tok_ids_.size());
  if (T == 0) return;
  using ProfileClock = std::chrono::steady_clock;
  ProfileClock::time_point lap;
  if (profile_) lap = ProfileClock::now();
  // Charges the time since the previous boundary to phase p (only with a profile attached).
  auto phase_done = [&](StepProfile::Phase p) {
    if (!profile_) return;
    const auto now = ProfileClock::now();
    profile_->seconds[p] += std::chrono::duration<double>(now - lap).count();
    lap = now;
  };
  if (T > max_tokens_ || static_cast<int>(logit_rows_.size()) > max_logit_rows_)
    throw std::length_error("batch exceeds the transformer's step budget");

  // Embeddings (a row of the quantized table each) and RoPE angles, shared by all layers.
  const size_t embd_row_bytes = ggml_row_size(w_.token_embd.type, D);
  const int half = hp_.rope_dim / 2;
  for (int t = 0; t < T; ++t) {
    if (tok_ids_[t] < 0 || tok_ids_[t] >= hp_.n_vocab) throw std::out_of_range("token id out of vocabulary");
    dequantize_row(w_.token_embd.type, static_cast<const uint8_t*>(w_.token_embd.data) + embd_row_bytes * tok_ids_[t],
                   &x_[static_cast<size_t>(t) * D], D);
    const float pos = static_cast<float>(tok_pos_[t]) * hp_.rope_freq_scale;
    for (int i = 0; i < half; ++i) {
      const float theta = pos * inv_freq_[i];
      rope_cos_[static_cast<size_t>(t) * half + i] = std::cos(theta);
      rope_sin_[static_cast<size_t>(t) * half + i] = std::sin(theta);
    }
  }
  phase_done(StepProfile::Embed);

  const int QD = hp_.q_dim(), KD = hp_.kv_dim(), F = hp_.n_ff, HD = hp_.head_dim;
  for (int l = 0; l < hp_.n_layer; ++l) {
    const LayerWeights& L = w_.layers[l];
    // Attention block.
    per_token(T, [&](int t, int) { ops::rmsnorm(&xb_[size_t(t) * D], &x_[size_t(t) * D], L.attn_norm, D, hp_.rms_eps); });
    phase_done(StepProfile::AttnNorm);
    const MatmulTarget qkv[] = {{L.wq, q_.data()}, {L.wk, k_.data()}, {L.wv, v_.data()}};
    matmul_multi(qkv, xb_.data(), T, pool_, scratch_);
    if (!lora_runs_.empty()) {
      const LoraProjection p[] = {{LoraTarget::Q, xb_.data(), D, q_.data(), QD},
                                  {LoraTarget::K, xb_.data(), D, k_.data(), KD},
                                  {LoraTarget::V, xb_.data(), D, v_.data(), KD}};
      lora_.apply(lora_runs_, l, p, pool_);
    }
    phase_done(StepProfile::Qkv);
    per_token(T, [&](int t, int) {
      float* q = &q_[size_t(t) * QD];
      float* k = &k_[size_t(t) * KD];
      if (L.bq) {
        ops::add(q, L.bq, QD);
        ops::add(k, L.bk, KD);
        ops::add(&v_[size_t(t) * KD], L.bv, KD);
      }
      const float* c = &rope_cos_[size_t(t) * half];
      const float* s = &rope_sin_[size_t(t) * half];
      for (int h = 0; h < hp_.n_head; ++h) {
        if (hp_.rope_layout == RopeLayout::Adjacent) ops::rope_adjacent(q + h * HD, c, s, hp_.rope_dim);
        else ops::rope_half_split(q + h * HD, c, s, hp_.rope_dim, HD);
      }
      for (int h = 0; h < hp_.n_head_kv; ++h) {
        if (hp_.rope_layout == RopeLayout::Adjacent) ops::rope_adjacent(k + h * HD, c, s, hp_.rope_dim);
        else ops::rope_half_split(k + h * HD, c, s, hp_.rope_dim, HD);
      }
    });
    phase_done(StepProfile::RopeBias);
    store_kv(l, batch, kv);
    phase_done(StepProfile::KvStore);
    attention(l, batch, kv);
    phase_done(StepProfile::Attention);
    matmul(L.wo, att_.data(), T, xb_.data(), pool_, scratch_);
    if (!lora_runs_.empty()) {
      const LoraProjection p[] = {{LoraTarget::O, att_.data(), QD, xb_.data(), D}};
      lora_.apply(lora_runs_, l, p, pool_);
    }
    phase_done(StepProfile::Wo);
    per_token(T, [&](int t, int) { ops::add(&x_[size_t(t) * D], &xb_[size_t(t) * D], D); });
    phase_done(StepProfile::Residual);

    // MLP block (SwiGLU).
    per_token(T, [&](int t, int) { ops::rmsnorm(&xb_[size_t(t) * D], &x_[size_t(t) * D], L.ffn_norm, D, hp_.rms_eps); });
    phase_done(StepProfile::FfnNorm);
    const MatmulTarget gate_up[] = {{L.w_gate, gate_.data()}, {L.w_up, up_.data()}};
    matmul_multi(gate_up, xb_.data(), T, pool_, scratch_);
    if (!lora_runs_.empty()) {
      const LoraProjection p[] = {{LoraTarget::Gate, xb_.data(), D, gate_.data(), F},
                                  {LoraTarget::Up, xb_.data(), D, up_.data(), F}};
      lora_.apply(lora_runs_, l, p, pool_);
    }
    phase_done(StepProfile::GateUp);
    pool_.run(T, [&](int t, int) { ops::silu_mul(&gate_[size_t(t) * F], &up_[size_t(t) * F], F); });
    phase_done(StepProfile::SiluMul);
    matmul(L.w_down, gate_.data(), T, xb_.data(), pool_, scratch_);
    if (!lora_runs_.empty()) {
      const LoraProjection p[] = {{LoraTarget::Down, gate_.data(), F, xb_.data(), D}};
      lora_.apply(lora_runs_, l, p, pool_);
    }
    phase_done(StepProfile::Down);
    per_token(T, [&](int t, int) { ops::add(&x_[size_t(t) * D], &xb_[size_t(t) * D], D); });
    phase_done(StepProfile::Residual);
  }

  if (profile_) ++profile_->steps;
  const int R = static_cast<int>(logit_rows_.size());
  if (R == 0) return;
  for (int r = 0; r < R; ++r)
    ops::rmsnorm(&xl_[size_t(r) * D], &x_[size_t(logit_rows_[r]) * D], w_.output_norm, D, hp_.rms_eps);
  matmul(w_.output, xl_.data(), R, logits, pool_, scratch_);
  phase_done(StepProfile::Output);
}

void Transformer::store_kv(int layer, std::span<const BatchSeq> batch, KvStore& kv) {
  const int KD = hp_.kv_dim(), HD = hp_.head_dim, BS = kv.block_size();
  const int T = static_cast<int>(tok_ids_.size());
  // Tokens write disjoint slots (positions differ within a sequence, blocks between sequences).
  per_token(T, [&](int t, int thread) {
    float* kv_row = &kv_row_[size_t(thread) * HD];
    const BatchSeq& b = batch[tok_seq_[t]];
    const int pos = tok_pos_[t];
    const int block = b.block_table[pos / BS], slot = pos % BS;
    for (int kvi = 0; kvi < 2; ++kvi) {
      const float* src = kvi == 0 ? &k_[size_t(t) * KD] : &v_[size_t(t) * KD];
      if (kv.dtype() == KvDtype::F16) {
        f32_to_f16_row(src, static_cast<uint16_t*>(kv.rows(block, layer, kvi)) + size_t(slot) * KD, KD);
        continue;
      }
      uint8_t* dst = static_cast<uint8_t*>(kv.rows(block, layer, kvi)) + slot * kv.row_bytes();
      float* prm = kv.params(block, layer, kvi) + size_t(slot) * kv.groups_per_row() * 2;
      const std::vector<float>& inv = kv_inv_scale_[kvi];
      const std::vector<float>& off = kv_transform_.key_offset;
      for (int h = 0; h < hp_.n_head_kv; ++h) {
        const float* row = src + h * HD;
        const size_t c0 = size_t(layer) * KD + size_t(h) * HD;
        if (kvi == 0 && !off.empty()) {
          for (int j = 0; j < HD; ++j) kv_row[j] = row[j] - off[c0 + j];
          row = kv_row;
        }
        if (!inv.empty()) {
          for (int j = 0; j < HD; ++j) kv_row[j] = row[j] * inv[c0 + j];
          row = kv_row;
        }
        if (kv.dtype() == KvDtype::Int8)
          quantize_kv_int8(row, HD, reinterpret_cast<int8_t*>(dst) + h * HD, &prm[2 * h], &prm[2 * h + 1]);
        else
          quantize_kv_int4(row, HD, dst + h * HD / 2, &prm[2 * h * (HD / kKvInt4Group)]);
      }
    }
  });
}

void Transformer::attention(int layer, std::span<const BatchSeq> batch, KvStore& kv) {
  const int T = static_cast<int>(tok_ids_.size());
  const int HD = hp_.head_dim, QD = hp_.q_dim(), KD = hp_.kv_dim(), BS = kv.block_size();
  const int group = hp_.n_head / hp_.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HD));
  const bool f16 = kv.dtype() == KvDtype::F16;
  // One task per (token, query head): reads its sequence's keys/values through the block table.
  pool_.run(T * hp_.n_head, [&](int task, int thread) {
    const int t = task / hp_.n_head, h = task % hp_.n_head, g = h / group;
    const BatchSeq& b = batch[tok_seq_[t]];
    const int n_ctx = tok_pos_[t] + 1;
    const float* q = &q_[size_t(t) * QD + size_t(h) * HD];
    float* sc = &scores_[size_t(thread) * max_context_];
    float* out = &att_[size_t(t) * QD + size_t(h) * HD];
    if (f16) {
      // One call per KV block (its slots are contiguous rows, KD apart).
      for (int p0 = 0; p0 < n_ctx; p0 += BS) {
        const int block = b.block_table[p0 / BS], rows = std::min(BS, n_ctx - p0);
        const uint16_t* k = static_cast<const uint16_t*>(kv.rows(block, layer, 0)) + g * HD;
        dot_f16_f32_rows(k, size_t(KD), rows, q, HD, scale, sc + p0);
      }
      ops::softmax(sc, n_ctx);
      for (int i = 0; i < HD; ++i) out[i] = 0.0f;
      for (int p0 = 0; p0 < n_ctx; p0 += BS) {
        const int block = b.block_table[p0 / BS], rows = std::min(BS, n_ctx - p0);
        const uint16_t* v = static_cast<const uint16_t*>(kv.rows(block, layer, 1)) + g * HD;
        axpy_f16_f32_rows(sc + p0, v, size_t(KD), rows, out, HD);
      }
      return;
    }
    // Quantized rows: the query meets keys stored as (k - offset) / scale (see set_kv_transform).
    const size_t c0 = size_t(layer) * KD + size_t(g) * HD;
    if (!kv_transform_.key_scale.empty()) {
      float* qs = &q_scaled_[size_t(thread) * HD];
      for (int j = 0; j < HD; ++j) qs[j] = q[j] * kv_transform_.key_scale[c0 + j];
      q = qs;
    }
    const float* vscale = kv_transform_.value_scale.empty() ? nullptr : &kv_transform_.value_scale[c0];
    if (kv.dtype() == KvDtype::Int4) {
      // Int4 rows carry a scale/zero per slot and group of 32: one call per position and head.
      const int gpr = kv.groups_per_row(), gph = HD / kKvInt4Group;
      const size_t rb = kv.row_bytes();
      for (int p = 0; p < n_ctx; ++p) {
        const int block = b.block_table[p / BS], slot = p % BS;
        const uint8_t* k = static_cast<const uint8_t*>(kv.rows(block, layer, 0)) + slot * rb + g * HD / 2;
        const float* prm = kv.params(block, layer, 0) + (size_t(slot) * gpr + size_t(g) * gph) * 2;
        sc[p] = dot_kv_int4_f32(k, prm, q, HD) * scale;
      }
      ops::softmax(sc, n_ctx);
      for (int i = 0; i < HD; ++i) out[i] = 0.0f;
      for (int p = 0; p < n_ctx; ++p) {
        const int block = b.block_table[p / BS], slot = p % BS;
        const uint8_t* v = static_cast<const uint8_t*>(kv.rows(block, layer, 1)) + slot * rb + g * HD / 2;
        const float* prm = kv.params(block, layer, 1) + (size_t(slot) * gpr + size_t(g) * gph) * 2;
        axpy_kv_int4_f32(sc[p], v, prm, out, HD);
      }
      if (vscale) for (int i = 0; i < HD; ++i) out[i] *= vscale[i];
      return;
    }
    // Int8 rows carry a scale/zero per slot and head: one call per position.
    for (int p = 0; p < n_ctx; ++p) {
      const int block = b.block_table[p / BS], slot = p % BS;
      const int8_t* k = static_cast<const int8_t*>(kv.rows(block, layer, 0)) + size_t(slot) * KD + g * HD;
      const float* prm = kv.params(block, layer, 0) + (size_t(slot) * hp_.n_head_kv + g) * 2;
      sc[p] = dot_kv_int8_f32(k, prm[0], prm[1], q, HD) * scale;
    }
    ops::softmax(sc, n_ctx);
    for (int i = 0; i < HD; ++i) out[i] = 0.0f;
    for (int p = 0; p < n_ctx; ++p) {
      const int block = b.block_table[p / BS], slot = p % BS;
      const int8_t* v = static_cast<const int8_t*>(kv.rows(block, layer, 1)) + size_t(slot) * KD + g * HD;
      const float* prm = kv.params(block, layer, 1) + (size_t(slot) * hp_.n_head_kv + g) * 2;
      axpy_kv_int8_f32(sc[p], v, prm[0], prm[1], out, HD);
    }
    if (vscale) for (int i = 0; i < HD; ++i) out[i] *= vscale[i];
  });
}

}  // namespace toolgate::engine
