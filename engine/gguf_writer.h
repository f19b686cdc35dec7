#pragma once
// GGUF v3 writer: metadata and tensors in, one file out (the inverse of gguf.h's reader).
// Used by `toolgate merge-lora` and by tests that build small models and adapters in memory.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/ggml_type.h"
#include "engine/gguf.h"

namespace toolgate::engine {

class GgufWriter {
 public:
  void set_string(std::string key, std::string value);
  void set_u32(std::string key, uint32_t value);
  void set_f32(std::string key, float value);
  void set_bool(std::string key, bool value);
  void set_strings(std::string key, std::vector<std::string> values);
  // Any value read from another file, with its original type (copying metadata).
  void set_value(std::string key, GgufValue value);

  // ne[0] is the row length. `bytes` must hold exactly the tensor's data in `type`'s layout.
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne, std::vector<uint8_t> bytes);
  // Convenience: an F32 tensor from floats.
  void add_tensor_f32(std::string name, std::vector<int64_t> ne, const std::vector<float>& values);

  std::vector<uint8_t> to_bytes() const;
  // Writes to a temporary file beside `path` and renames it, so a failed write leaves no
  // half-written model. Throws std::runtime_error naming the file.
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> bytes;
  };
  void put(std::string key, GgufValue value);
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace toolgate::engine
