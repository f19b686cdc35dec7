#include "test_paths.h"

#include <cstdlib>

namespace toolgate::testing {
namespace {
std::filesystem::path from_env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return std::filesystem::path(v && *v ? v : fallback);
}
std::filesystem::path if_exists(std::filesystem::path p) {
  return std::filesystem::exists(p) ? p : std::filesystem::path();
}
}  // namespace

std::filesystem::path models_dir() { return from_env("TOOLGATE_MODELS_DIR", TOOLGATE_DEFAULT_MODELS_DIR); }
std::filesystem::path testdata_dir() { return from_env("TOOLGATE_TESTDATA_DIR", TOOLGATE_DEFAULT_TESTDATA_DIR); }
std::filesystem::path source_dir() { return from_env("TOOLGATE_SOURCE_DIR", TOOLGATE_DEFAULT_SOURCE_DIR); }
std::filesystem::path default_model() {
  return if_exists(models_dir() / "SmolLM2-135M-Instruct-Q4_1.gguf");
}
std::filesystem::path tool_model() {
  return if_exists(models_dir() / "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf");
}
std::filesystem::path agent_model() {
  return if_exists(models_dir() / "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf");
}
}  // namespace toolgate::testing
