#pragma once
// Random LoRA adapters in llama.cpp's GGUF layout, for tests, benchmarks and cross-checks
// (speed and correctness do not need a trained adapter).
#include <cstdint>
#include <vector>

#include "engine/ggml_type.h"
#include "engine/gguf_writer.h"
#include "engine/model/hparams.h"
#include "engine/model/lora_adapter.h"

namespace toolgate::engine {

struct RandomLoraSpec {
  int rank = 8;
  float alpha = 16.0f;
  GgmlType type = GgmlType::F32;  // of lora_a / lora_b: F32, F16, BF16 or Q8_0
  std::vector<LoraTarget> targets = {LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O};
  uint64_t seed = 1;
  // A ~ U(-1, 1) / sqrt(n_in), B ~ U(-1, 1) * b_scale: the update's size relative to W.
  float b_scale = 0.05f;
};

// An adapter for a model with these hyper-parameters, every block adapted.
GgufWriter make_random_lora(const HParams& hp, const RandomLoraSpec& spec);

}  // namespace toolgate::engine
