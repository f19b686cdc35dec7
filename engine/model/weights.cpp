#include "engine/model/weights.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

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
    std::vector<WeightView*> views;
    for (LayerWeights& l : w.layers) {
      for (WeightView* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) views.push_back(v);
    }
    views.push_back(&w.output);
    auto padded = [](size_t n) { return (n + 63) / 64 * 64; };
    size_t total = 0;
    for (const WeightView* v : views) total += padded(packed_size_x16(*v));
    if (total > 0) {
      w.packed_storage = Weights::PackedArena(total);
      uint8_t* p = w.packed_storage.base;
      for (WeightView* v : views) {
        const size_t bytes = packed_size_x16(*v);
        if (bytes == 0) continue;
        pack_weights_x16(*v, p);
        v->packed = p;
        p += padded(bytes);
        // The kernels read only the packed copy from now on; without this the original stays
        // resident too (+115 MB for SmolLM2-135M, +450 MB for Qwen2.5-0.5B). A tied embedding
        // table faults back in just the rows that tokens look up.
        f.release_pages(v->data, ggml_row_size(v->type, v->cols) * static_cast<size_t>(v->rows));
      }
    }
  }
  return w;
}

Weights::PackedArena::PackedArena(size_t n) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t len = (n + kHuge - 1) / kHuge * kHuge;
  // Map 2 MiB more and trim to a 2 MiB aligned start: huge pages cover only aligned stretches.
  void* m = ::mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  auto* raw = static_cast<uint8_t*>(m);
  const size_t head = (kHuge - reinterpret_cast<uintptr_t>(raw) % kHuge) % kHuge;
  if (head) ::munmap(raw, head);
  if (kHuge - head) ::munmap(raw + head + len, kHuge - head);
  base = raw + head;
  bytes = len;
  // Advice only: without THP support the arena is plain 4 KiB pages.
  ::madvise(base, len, MADV_HUGEPAGE);
}

Weights::PackedArena& Weights::PackedArena::operator=(PackedArena&& o) noexcept {
  if (this != &o) {
    if (base) ::munmap(base, bytes);
    base = std::exchange(o.base, nullptr);
    bytes = std::exchange(o.bytes, 0);
  }
  return *this;
}

Weights::PackedArena::~PackedArena() {
  if (base) ::munmap(base, bytes);
}

}  // namespace toolgate::engine
