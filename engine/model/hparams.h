#pragma once
// Hyper-parameters of a decoder-only transformer, read from GGUF metadata (<arch>.* keys).
#include <string>

namespace toolgate::engine {

class GgufFile;

// How RoPE pairs dimensions: llama GGUFs rotate adjacent pairs (x0,x1),(x2,x3)… because the
// converter permuted Q/K; qwen2 ("NeoX" style) rotates x[i] with x[i + head_dim/2].
enum class RopeLayout { Adjacent, HalfSplit };

struct HParams {
  std::string architecture;
  int n_layer = 0;
  int n_embd = 0;     // model width
  int n_head = 0;     // query heads
  int n_head_kv = 0;  // key/value heads (GQA when < n_head)
  int head_dim = 0;
  int n_ff = 0;       // MLP hidden width
  int n_vocab = 0;
  int n_ctx_train = 0;
  int rope_dim = 0;   // dimensions rotated per head (usually head_dim)
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear scaling: positions multiplied by this
  float rms_eps = 1e-5f;
  RopeLayout rope_layout = RopeLayout::Adjacent;
  bool qkv_bias = false;

  int q_dim() const { return n_head * head_dim; }
  int kv_dim() const { return n_head_kv * head_dim; }
  // Reads and checks the metadata; throws std::runtime_error naming the file and the problem
  // (unsupported architecture, missing or inconsistent keys).
  static HParams from_gguf(const GgufFile& file);
};

}  // namespace toolgate::engine
