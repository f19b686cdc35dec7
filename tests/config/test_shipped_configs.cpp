// The configs shipped in config/ load cleanly and say what the README promises.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config_loader.h"
#include "config_test_support.h"

namespace toolgate::config {
namespace {

using testing::without_file_checks;

TEST(DefaultConfig, LoadsCleanlyAndServesLoopbackOnPort8080) {
  const LoadResult r = load_config_file(default_config_path(), without_file_checks());
  ASSERT_TRUE(r.ok()) << r.error_text();
  const Config& c = *r.config;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_TRUE(c.server.api_keys.empty());
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.models[0].id, "smollm2-135m-instruct");
  EXPECT_EQ(c.models[1].id, "qwen2.5-coder-1.5b-instruct");
  EXPECT_EQ(c.models[1].server_tools,
            (std::vector<std::string>{"calculator", "add", "mul", "current_time"}));
  EXPECT_EQ(c.tools.builtin, builtin_tool_names());
  // Model paths are relative to config/, i.e. the repository's models/ directory.
  const auto models =
      std::filesystem::absolute(default_config_path()).parent_path().parent_path() / "models";
  EXPECT_EQ(c.models[0].path, (models / "SmolLM2-135M-Instruct-Q4_1.gguf").string());
  EXPECT_EQ(c.models[1].path, (models / "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf").string());
}

TEST(DefaultConfig, ModelFilesExistOnceFetched) {
  if (toolgate::testing::default_model().empty() || toolgate::testing::agent_model().empty()) {
    GTEST_SKIP() << "models not fetched (scripts/fetch-models)";
  }
  const LoadResult r = load_config_file(default_config_path());
  EXPECT_TRUE(r.ok()) << r.error_text();
}

TEST(MultiModelExample, LoadsWithItsEnvironmentVariablesSet) {
  ::setenv("TOOLGATE_API_KEY", "tg-test", 1);
  ::setenv("UPSTREAM_API_KEY", "sk-test", 1);
  const auto file = testing::source_root() / "config" / "examples" / "multi-model.yaml";
  const LoadResult r = load_config_file(file, without_file_checks());
  ::unsetenv("TOOLGATE_API_KEY");
  ::unsetenv("UPSTREAM_API_KEY");
  ASSERT_TRUE(r.ok()) << r.error_text();
  const Config& c = *r.config;
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.api_keys, std::vector<std::string>{"tg-test"});
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_FALSE(c.models[0].path.empty());
  ASSERT_TRUE(c.models[0].engine.has_value());
  EXPECT_EQ(c.models[0].engine->kv_dtype, "int8");
  EXPECT_EQ(c.models[0].engine->kv_budget_bytes, 1ull << 30);  // inherited from the global
  ASSERT_TRUE(c.models[1].upstream.has_value());
  EXPECT_EQ(c.models[1].upstream->api_key, "sk-test");
}

TEST(MultiModelExample, NamesTheMissingSecretWhenItIsUnset) {
  ::unsetenv("TOOLGATE_API_KEY");
  ::unsetenv("UPSTREAM_API_KEY");
  const auto file = testing::source_root() / "config" / "examples" / "multi-model.yaml";
  const LoadResult r = load_config_file(file, without_file_checks());
  ASSERT_EQ(r.issues.size(), 2u) << r.error_text();
  EXPECT_EQ(r.issues[0].message, "environment variable 'TOOLGATE_API_KEY' is not set");
  EXPECT_EQ(r.issues[1].message, "environment variable 'UPSTREAM_API_KEY' is not set");
}

}  // namespace
}  // namespace toolgate::config
