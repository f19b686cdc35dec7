#pragma once
// Helpers shared by the config tests.
#include <filesystem>
#include <string>

#include "config/config_issue.h"
#include "test_paths.h"

namespace toolgate::config::testing {

// The source tree: TOOLGATE_SOURCE_DIR when ctest passes it, else found from this file's own
// path. (gtest_discover_tests in tests/CMakeLists.txt flattens the ENVIRONMENT list, so as of
// the skeleton only TOOLGATE_MODELS_DIR reaches the tests.)
inline std::filesystem::path source_root() {
  const auto from_env = toolgate::testing::source_dir();
  if (std::filesystem::exists(from_env / "tests" / "config" / "data")) return from_env;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

// tests/config/data/<name>: one bad config per validation class.
inline std::filesystem::path fixture(const std::string& name) {
  return source_root() / "tests" / "config" / "data" / name;
}

}  // namespace toolgate::config::testing

namespace toolgate::config::testing {
// Validation without file checks: the fixtures name model files that do not exist.
inline toolgate::config::ValidationContext without_file_checks() {
  toolgate::config::ValidationContext ctx;
  ctx.check_files = false;
  return ctx;
}
}  // namespace toolgate::config::testing

#include <ostream>

#include "config/config_printer.h"

namespace toolgate::config {
// gtest prints a Config as its unmasked YAML, so a failed comparison shows what differs.
inline void PrintTo(const Config& c, std::ostream* os) {
  PrintOptions options;
  options.mask_secrets = false;
  *os << "\n" << to_yaml(c, options);
}
}  // namespace toolgate::config
