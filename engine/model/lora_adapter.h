#pragma once
// A LoRA adapter in llama.cpp's GGUF format (what convert_lora_to_gguf.py writes from a PEFT
// adapter): general.type = "adapter", adapter.type = "lora", adapter.lora.alpha, and per adapted
// base tensor W (ne = [n_in, n_out]) two tensors "<W>.lora_a" (ne = [n_in, r]) and "<W>.lora_b"
// (ne = [r, n_out]). Applied as y = W x + scale * (alpha / r) * B (A x); alpha = 0 means
// scale alone (llama.cpp's convention).
//
// The adapter is validated against the base model it will run on: architecture, every tensor
// name (must name a projection of the base) and every shape; each problem is a
// LoraAdapterError naming the adapter file and the tensor. Matrices are kept as f32 whatever
// their stored type (F32, F16, BF16, Q8_0): at rank 8 that is ~4 MB for SmolLM2-135M's
// attention projections, and the runtime products stay exact float arithmetic.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/model/hparams.h"

namespace toolgate::engine {

class GgufFile;

class LoraAdapterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The base projections an adapter may adapt, in the order LoraLayer stores them.
enum class LoraTarget : int { Q, K, V, O, Gate, Up, Down };
inline constexpr int kLoraTargets = 7;
// GGUF name of a projection inside a block: "attn_q", ..., "ffn_down".
const char* lora_target_name(LoraTarget t);

struct LoraMatrix {
  int rank = 0;
  int64_t n_in = 0, n_out = 0;
  std::vector<float> a;    // (rank, n_in)   A
  std::vector<float> b_t;  // (rank, n_out)  B transposed: B (A x) is then `rank` axpys of n_out
  float factor = 0.0f;   // scale * alpha / rank (or scale when alpha = 0)
};

// Per block, the adapted projections (absent = unchanged).
using LoraLayer = std::array<std::optional<LoraMatrix>, kLoraTargets>;

struct LoraAdapter {
  std::string id;
  std::string path;
  float scale = 1.0f;  // the user's multiplier
  float alpha = 0.0f;  // adapter.lora.alpha
  std::vector<LoraLayer> layers;  // n_layer entries
  // Distinct per loaded adapter and never 0 (0 = base): the prefix cache's extra key, so K/V
  // computed under one adapter are never a prefix hit for another or for the base.
  uint64_t cache_key = 0;

  const LoraMatrix* matrix(int layer, LoraTarget t) const {
    const auto& m = layers[static_cast<size_t>(layer)][static_cast<size_t>(t)];
    return m ? &*m : nullptr;
  }
  size_t num_matrices() const;
  size_t bytes() const;  // memory held by the matrices

  // Reads and validates `file` against the base model (its hyper-parameters and tensors).
  static LoraAdapter from_gguf(const GgufFile& file, const HParams& hp, const GgufFile& base,
                               std::string id, float scale);
  static LoraAdapter load(const std::filesystem::path& path, const HParams& hp, const GgufFile& base,
                          std::string id, float scale);
};

}  // namespace toolgate::engine
