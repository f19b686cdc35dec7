#pragma once
// GGUF (v2/v3) reader: the file is memory-mapped and tensors are zero-copy views into it.
// Every structural problem (bad magic, truncation, offsets or sizes out of range, unknown
// tensor types, absurd dimensions) raises GgufError naming the file and the problem.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "engine/ggml_type.h"

namespace toolgate::engine {

class GgufError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// A metadata array. Scalar arrays are decoded into the matching vector; string arrays into
// strings (tokenizer vocabularies). Nested arrays are rejected by the reader (no model uses them).
struct GgufArray {
  GgufValueType element_type;
  std::variant<std::vector<int64_t>, std::vector<uint64_t>, std::vector<double>,
               std::vector<std::string>>
      values;
  size_t size() const;
};

struct GgufValue {
  GgufValueType type;
  std::variant<int64_t, uint64_t, double, bool, std::string, GgufArray> value;
};

struct GgufTensor {
  std::string name;
  GgmlType type;
  int n_dims = 0;
  std::array<int64_t, 4> ne{1, 1, 1, 1};  // ne[0] is the row length (fastest-varying)
  const uint8_t* data = nullptr;           // view into the mapping
  size_t nbytes = 0;
  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
};

class GgufFile {
 public:
  // Maps and parses the file. Throws GgufError on any malformed input.
  static std::unique_ptr<GgufFile> open(const std::filesystem::path& path);
  // Parses a GGUF image held in memory (used by tests and fuzzing); the buffer must outlive it.
  static std::unique_ptr<GgufFile> parse(std::span<const uint8_t> bytes, std::string name);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  size_t file_size() const { return bytes_.size(); }

  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Typed getters: nullopt when the key is absent; GgufError when present with a wrong type.
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;  // any integer type
  std::optional<double> get_float(std::string_view key) const;  // any float or integer type
  std::optional<bool> get_bool(std::string_view key) const;
  const GgufArray* get_array(std::string_view key) const;
  const std::vector<std::string>* get_string_array(std::string_view key) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* tensor(std::string_view name) const;
  // Like tensor() but throws GgufError naming the missing tensor.
  const GgufTensor& require_tensor(std::string_view name) const;
  const std::vector<std::string>& keys() const { return keys_; }

  // Reads every page of the file into memory (page cache → this mapping), so the first request
  // does not pay for disk reads. `progress(done, total)` is called after each chunk of bytes.
  void warm(const std::function<void(uint64_t done, uint64_t total)>& progress = {}) const;
  // Bytes of the mapping resident in memory now (mincore); file_size() for in-memory images.
  uint64_t resident_bytes() const;

 private:
  GgufFile() = default;
  void parse_all();

  std::string name_;
  void* map_ = nullptr;  // mmap base when opened from a file
  size_t map_size_ = 0;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  std::vector<std::string> keys_;
  std::unordered_map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace toolgate::engine
