#pragma once
// Tensor element types as numbered in the GGUF format (ggml's enum), with their block layout.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace toolgate::engine {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

struct GgmlTypeTraits {
  std::string_view name;
  int64_t block_size;  // elements per block
  size_t type_size;    // bytes per block
};

// Traits of a type this engine can read; nullopt for any other value (an unknown/unsupported type).
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type);
std::string_view ggml_type_name(GgmlType type);
// Bytes taken by one row of n elements; n must be a multiple of the block size.
size_t ggml_row_size(GgmlType type, int64_t n);

}  // namespace toolgate::engine
