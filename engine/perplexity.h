#pragma once
// Perplexity of a model over a text: the standard check that the forward pass is right (a broken
// kernel shows up as a huge value). Runs the same Transformer and paged KV store as serving.
#include <filesystem>
#include <string>

#include "engine/engine.h"

namespace toolgate::engine {

struct PerplexityOptions {
  int n_ctx = 512;      // tokens per independent chunk
  int threads = 0;      // 0 = all cores
  int batch = 128;      // tokens per forward pass
  KvDtype kv_dtype = KvDtype::F16;
  // A LoRA adapter applied to every token (empty = none), with its scale.
  std::filesystem::path lora;
  float lora_scale = 1.0f;
  // llama.cpp's llama-perplexity method, for cross-checks: only whole chunks of n_ctx tokens,
  // and only the second half of each chunk is scored (the first half is context).
  bool second_half_only = false;
};

struct PerplexityResult {
  double perplexity = 0.0;
  int tokens_scored = 0;
  int chunks = 0;
  double seconds = 0.0;
};

PerplexityResult compute_perplexity(const std::filesystem::path& model, const std::string& text,
                                    const PerplexityOptions& options = {});

}  // namespace toolgate::engine
