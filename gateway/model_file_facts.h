#pragma once
// What Ollama's /api/tags, /api/show and /api/ps say about a local model's file: size, the GGUF
// metadata (architecture, quantization, every scalar key), and the file's SHA-256 as its digest.
// Read once per file and cached for the life of the process. The metadata is read on first use
// (a header parse); the SHA-256 of a file of up to a few GB takes seconds, so it runs on a
// background thread started on first use, and only the callers that need the digest wait.
#include <cstdint>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace toolgate::gateway {

struct ModelFileFacts {
  std::string path;
  uint64_t size = 0;
  int64_t modified_unix = 0;
  std::string architecture;        // general.architecture
  std::string quantization_level;  // from general.file_type: "Q4_K_M", "Q4_1", ...
  nlohmann::json model_info = nlohmann::json::object();  // scalar metadata; arrays as null
  std::shared_future<std::string> sha256;  // lowercase hex

  // Cached per path; throws std::runtime_error when the file cannot be read as GGUF.
  static std::shared_ptr<const ModelFileFacts> of(const std::string& path);
};

// llama.cpp's LLAMA_FTYPE names ("Q4_K_M"), "unknown" otherwise.
std::string gguf_file_type_name(int64_t file_type);
// Ollama's parameter_size: "494.03M", "1.54B".
std::string parameter_size_text(int64_t n_params);
std::string sha256_file_hex(const std::string& path);

}  // namespace toolgate::gateway
