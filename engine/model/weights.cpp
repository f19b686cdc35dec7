#include "engine/model/weights.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "engine/gguf.h"

namespace toolgate::engine {
namespace {

WeightView matrix(const GgufFile& f, const std::string& name, int64_t rows, int64_t cols) {
  const GgufTensor& t = f.require_tensor(name);
  if (t.ne[0] != cols || t.rows() != rows)
    throw std::runtime_error(f.name() + ": tensor '" + name + "' has shape [" + std::to_string(t.ne[0]) + ", " +
                             std::to_string(t.rows()) + "], expected [" + std::to_string(cols) + ", " +
                             std::to_string(rows) + "]");
  return WeightView{t.type, t.data, rows, cols};
}

const float* vector_f32(const GgufFile& f, const std::string& name, int64_t n) {
  const GgufTensor& t = f.require_tensor(name);
  if (t.type != GgmlType::F32 || t.n_elements() != n)
    throw std::runtime_error(f.name() + ": tensor '" + name + "' must be F32 with " + std::to_string(n) + " elements");
  return reinterpret_cast<const float*>(t.data);
}

}  // namespace

Weights Weights::from_gguf(const GgufFile& f, const HParams& hp) {
  Weights w;
  w.token_embd = matrix(f, "token_embd.weight", hp.n_vocab, hp.n_embd);
  w.output_norm = vector_f32(f, "output_norm.weight", hp.n_embd);
  w.output = f.tensor("output.weight") ? matrix(f, "output.weight", hp.n_vocab, hp.n_embd) : w.token_embd;
  for (int i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights l;
    l.attn_norm = vector_f32(f, p + "attn_norm.weight", hp.n_embd);
    l.wq = matrix(f, p + "attn_q.weight", hp.q_dim(), hp.n_embd);
    l.wk = matrix(f, p + "attn_k.weight", hp.kv_dim(), hp.n_embd);
    l.wv = matrix(f, p + "attn_v.weight", hp.kv_dim(), hp.n_embd);
    if (hp.qkv_bias) {
      l.bq = vector_f32(f, p + "attn_q.bias", hp.q_dim());
      l.bk = vector_f32(f, p + "attn_k.bias", hp.kv_dim());
      l.bv = vector_f32(f, p + "attn_v.bias", hp.kv_dim());
    }
    l.wo = matrix(f, p + "attn_output.weight", hp.n_embd, hp.q_dim());
    l.ffn_norm = vector_f32(f, p + "ffn_norm.weight", hp.n_embd);
    l.w_gate = matrix(f, p + "ffn_gate.weight", hp.n_ff, hp.n_embd);
    l.w_up = matrix(f, p + "ffn_up.weight", hp.n_ff, hp.n_embd);
    l.w_down = matrix(f, p + "ffn_down.weight", hp.n_embd, hp.n_ff);
    w.layers.push_back(l);
  }
  const char* no_repack = std::getenv("TOOLGATE_NO_REPACK");
  if (!no_repack || !*no_repack || *no_repack == '0') {
    auto pack = [&w, &f](WeightView& v) {
      const size_t bytes = packed_size_x16(v);
      if (bytes == 0) return;
      auto* p = static_cast<uint8_t*>(::operator new[](bytes, std::align_val_t(64)));
      w.packed_storage.emplace_back(p);
      pack_weights_x16(v, p);
      v.packed = p;
      // The kernels read only the packed copy from now on; without this the original stays
      // resident too (+115 MB for SmolLM2-135M, +450 MB for Qwen2.5-0.5B). A tied embedding
      // table faults back in just the rows that tokens look up.
      f.release_pages(v.data, ggml_row_size(v.type, v.cols) * static_cast<size_t>(v.rows));
    };
    for (LayerWeights& l : w.layers) {
      for (WeightView* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) pack(*v);
    }
    pack(w.output);
  }
  return w;
}

}  // namespace toolgate::engine
