#pragma once
// Folds a LoRA adapter into its base model: W' = W + factor * B A for every adapted tensor,
// written as a new GGUF with the base's metadata and every other tensor byte for byte. For
// deployments that serve only the fine-tune (no per-step adapter cost).
#include <cstdint>
#include <filesystem>
#include <string>

namespace toolgate::engine {

// keep: each adapted tensor keeps its base type (quantized types are requantized with the
// engine's reference round-to-nearest quantizers, which adds their rounding error once);
// f16 / f32: adapted tensors are stored in that float type (no requantization error).
enum class MergedType { Keep, F16, F32 };

struct MergeLoraReport {
  int tensors_merged = 0;
  int tensors_copied = 0;
  uint64_t bytes_written = 0;
  // Over the adapted tensors: RMS of the adapter's update B·A·factor, and RMS of what storing
  // W + update in the output type got wrong. error/update near or above 1 means the update was
  // mostly rounded away (4-bit types and a small adapter: use MergedType::F16).
  double update_rms = 0.0;
  double error_rms = 0.0;
};

// Throws std::runtime_error (LoraAdapterError for a bad adapter) naming the file and tensor.
MergeLoraReport merge_lora(const std::filesystem::path& base, const std::filesystem::path& adapter, float scale,
                           MergedType type, const std::filesystem::path& out);

}  // namespace toolgate::engine
