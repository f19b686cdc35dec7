#pragma once
// Locations of weights and reference data for tests, from the environment ctest sets.
#include <filesystem>
#include <string>

namespace toolgate::testing {
std::filesystem::path models_dir();
std::filesystem::path testdata_dir();
std::filesystem::path source_dir();
// Path of the default model (SmolLM2-135M-Instruct Q4_1); empty if it was not fetched.
std::filesystem::path default_model();
// Path of the tool-calling model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M); empty if not fetched.
std::filesystem::path tool_model();
// Path of the agent model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M); empty if not fetched.
std::filesystem::path agent_model();
}  // namespace toolgate::testing
