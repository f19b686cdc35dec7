// Each bad config under tests/config/data/ holds one class of mistake; the table says what the
// loader must report for it: exactly one issue, at this line:column, for this key, with this
// message. Read it as the specification of Toolgate's config error messages.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config_loader.h"
#include "config_test_support.h"

namespace toolgate::config {
namespace {

using testing::fixture;

struct BadConfigCase {
  const char* file;
  int line;
  int column;
  const char* path;
  const char* message;
};

void PrintTo(const BadConfigCase& c, std::ostream* os) { *os << c.file; }

// Files are not checked here (the fixtures' models do not exist) except in MissingModelFile.
const BadConfigCase kBadConfigs[] = {
    {"unknown_key.yaml", 2, 3, "server.prot", "unknown key 'prot'; did you mean 'port'?"},
    {"wrong_type.yaml", 2, 9, "server.port", "expected an integer, got 'eighty'"},
    {"wrong_bool.yaml", 2, 19, "engine.prefix_caching", "expected true or false, got 'sometimes'"},
    {"list_expected.yaml", 4, 14, "models[0].aliases",
     "expected a list, got 'tiny' (write [tiny] for a list of one)"},
    {"models_not_a_list.yaml", 1, 1, "models", "expected a list, got a mapping"},
    {"duplicate_key.yaml", 3, 3, "server.port", "duplicate key 'port' (first given at line 2)"},
    {"port_out_of_range.yaml", 2, 9, "server.port", "expected a port in 1..65535, got 70000"},
    {"block_size_not_power_of_two.yaml", 2, 15, "engine.block_size",
     "expected a power of two in 8..256, got 24"},
    {"negative_threads.yaml", 2, 12, "engine.threads", "must be at least 0, got -2"},
    {"fraction_out_of_range.yaml", 2, 23, "engine.kv_budget_fraction",
     "must be in (0, 1], got 1.5"},
    {"bad_size.yaml", 2, 20, "engine.kv_budget_bytes",
     "expected a size such as 512MiB, 1GB or a byte count, got '12XB': unknown unit 'XB' "
     "(use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"},
    {"bad_kv_dtype_in_model_engine.yaml", 7, 17, "models[1].engine.kv_dtype",
     "expected one of f16, int8, int4, got 'f8'"},
    {"bad_sampling.yaml", 5, 14, "models[0].sampling.top_p", "must be in (0, 1], got 0"},
    {"bad_log_level.yaml", 2, 10, "logging.level",
     "expected one of trace, debug, info, warn, error, critical, off, got 'verbose'"},
    {"bad_log_format.yaml", 2, 11, "logging.format", "expected one of text, json, got 'xml'"},
    {"bad_cors_origin.yaml", 2, 23, "server.cors_origins[1]",
     "expected '*' or an origin such as https://example.com, got 'example.com'"},
    {"no_models.yaml", 3, 1, "models", "no models configured; add at least one under 'models:'"},
    {"duplicate_model_id.yaml", 4, 9, "models[1].id",
     "model name 'twin' is already used by models[0].id at line 2"},
    {"alias_collides.yaml", 6, 20, "models[1].aliases[1]",
     "model name 'small' is already used by models[0].id at line 2"},
    {"both_path_and_upstream.yaml", 4, 5, "models[0].upstream",
     "give either 'path' (a local GGUF file) or 'upstream' (a remote server), not both"},
    {"neither_path_nor_upstream.yaml", 2, 5, "models[0]",
     "needs 'path' (a local GGUF file) or 'upstream' (a remote server); got neither"},
    {"bad_upstream_url.yaml", 4, 17, "models[0].upstream.base_url",
     "expected an http:// or https:// URL, got 'api.example.com'"},
    {"tls_on_http_upstream.yaml", 5, 16, "models[0].upstream.ca_file",
     "TLS settings need an https:// base_url, got 'http://127.0.0.1:9000/v1'"},
    {"engine_on_upstream_model.yaml", 5, 5, "models[0].engine",
     "'engine' applies only to local models (with 'path')"},
    {"both_chat_templates.yaml", 5, 25, "models[0].chat_template_file",
     "give either chat_template or chat_template_file, not both"},
    {"unknown_server_tool.yaml", 4, 20, "models[0].server_tools[0]",
     "unknown tool 'calculater'; did you mean 'calculator'? (enabled tools: calculator)"},
    {"server_tool_not_enabled.yaml", 4, 32, "models[0].server_tools[1]",
     "tool 'add' is built in but not enabled; add it to tools.builtin"},
    {"unknown_builtin_tool.yaml", 5, 25, "tools.builtin[1]",
     "unknown built-in tool 'multiply' (built-in tools: calculator, add, mul, current_time)"},
    {"adapter_bad_id.yaml", 5, 13, "models[0].adapters[0].id",
     "adapter id may hold only letters, digits, '.', '_' and '-', got 'my adapter'"},
    {"adapter_missing_path.yaml", 5, 9, "models[0].adapters[0].path", "missing required key 'path'"},
    {"adapter_scale_out_of_range.yaml", 7, 16, "models[0].adapters[0].scale",
     "must be in [-100, 100], got 500"},
    {"adapter_unknown_key.yaml", 7, 9, "models[0].adapters[0].scael",
     "unknown key 'scael'; did you mean 'scale'?"},
    {"adapter_name_collides.yaml", 9, 15, "models[1].aliases[0]",
     "model name 'm:tuned' is already used by models[0].adapters[0].id at line 5"},
    {"adapter_on_upstream.yaml", 5, 5, "models[0].adapters",
     "'adapters' applies only to local models (with 'path')"},
    {"unknown_draft_model.yaml", 4, 12, "models[0].draft",
     "unknown draft model 'qwen-0.5'; did you mean 'qwen-0.5b'? (local models: qwen-0.5b)"},
    {"bad_speculative_mode.yaml", 5, 13, "models[0].speculative.mode",
     "expected one of off, ngram, draft, got 'lookup'"},
    {"draft_mode_without_draft.yaml", 5, 13, "models[0].speculative.mode",
     "mode 'draft' needs 'draft: <model id>' on the model"},
    {"unset_env_var.yaml", 2, 14, "server.api_keys[0]",
     "environment variable 'TOOLGATE_TEST_SURELY_UNSET_VAR' is not set"},
};

class BadConfig : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfig, ReportsExactlyOneIssueAtItsPosition) {
  const BadConfigCase& c = GetParam();
  const auto file = fixture(c.file);
  const LoadResult result = load_config_file(file, testing::without_file_checks());
  EXPECT_FALSE(result.config.has_value());
  ASSERT_EQ(result.issues.size(), 1u) << result.error_text();
  const ConfigIssue& issue = result.issues[0];
  EXPECT_EQ(issue.file, file.string());
  EXPECT_EQ(issue.line, c.line) << issue.to_string();
  EXPECT_EQ(issue.column, c.column) << issue.to_string();
  EXPECT_EQ(issue.path, c.path);
  EXPECT_EQ(issue.message, c.message);
}

INSTANTIATE_TEST_SUITE_P(OneFilePerMistake, BadConfig, ::testing::ValuesIn(kBadConfigs),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find('.'));
                           return name;
                         });

TEST(BadConfigFile, MissingModelFileIsResolvedAgainstTheConfigDirectory) {
  const auto file = fixture("missing_model_file.yaml");
  const LoadResult result = load_config_file(file);
  ASSERT_EQ(result.issues.size(), 1u) << result.error_text();
  const auto expected_path =
      (std::filesystem::absolute(file).parent_path() / "no-such-model.gguf").lexically_normal();
  EXPECT_EQ(result.issues[0].line, 3);
  EXPECT_EQ(result.issues[0].column, 11);
  EXPECT_EQ(result.issues[0].path, "models[0].path");
  EXPECT_EQ(result.issues[0].message, "model file not found: " + expected_path.string());
}

TEST(BadConfigFile, SyntaxErrorIsReportedWithItsPosition) {
  const auto file = fixture("yaml_syntax_error.yaml");
  const LoadResult result = load_config_file(file, testing::without_file_checks());
  ASSERT_EQ(result.issues.size(), 1u) << result.error_text();
  EXPECT_GE(result.issues[0].line, 4);
  EXPECT_EQ(result.issues[0].message.rfind("YAML syntax error: ", 0), 0u)
      << result.issues[0].message;
}

TEST(BadConfigFile, EveryProblemInOneFileIsReportedInFileOrder) {
  const auto file = fixture("many_problems.yaml");
  const LoadResult result = load_config_file(file, testing::without_file_checks());
  const std::string f = file.string();
  const std::vector<std::string> expected = {
      f + ":3:9: server.port: expected a port in 1..65535, got 0",
      f + ":4:3: server.hots: unknown key 'hots'; did you mean 'host'?",
      f + ":6:10: logging.level: expected one of trace, debug, info, warn, error, critical, off, "
          "got 'loud'",
      f + ":8:15: engine.block_size: expected a power of two in 8..256, got 12",
      f + ":12:9: models[1].id: model name 'dup' is already used by models[0].id at line 10",
      f + ":13:5: models[1].upstream: give either 'path' (a local GGUF file) or 'upstream' "
          "(a remote server), not both",
      f + ":17:25: tools.builtin[1]: unknown built-in tool 'abacus' (built-in tools: "
          "calculator, add, mul, current_time)",
  };
  std::vector<std::string> got;
  for (const auto& issue : result.issues) got.push_back(issue.to_string());
  EXPECT_EQ(got, expected);
  EXPECT_FALSE(result.config.has_value());
}

TEST(BadConfigFile, UnreadableFileIsOneIssue) {
  const LoadResult result = load_config_file(fixture("does-not-exist.yaml"));
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].line, 0);
  EXPECT_NE(result.issues[0].message.find("cannot read config file"), std::string::npos);
}

TEST(ConfigIssue, ToStringNamesFilePositionPathAndMessage) {
  const ConfigIssue issue{"deploy.yaml", 12, 17, "models[1].engine.kv_dtype",
                          "expected one of f16, int8, int4, got 'f8'"};
  EXPECT_EQ(issue.to_string(),
            "deploy.yaml:12:17: models[1].engine.kv_dtype: expected one of f16, int8, int4, got 'f8'");
  EXPECT_EQ((ConfigIssue{"<command line>", 0, 0, "server.port", "bad"}).to_string(),
            "<command line>: server.port: bad");
  EXPECT_EQ((ConfigIssue{"a.yaml", 1, 2, "", "syntax"}).to_string(), "a.yaml:1:2: syntax");
}

}  // namespace
}  // namespace toolgate::config
