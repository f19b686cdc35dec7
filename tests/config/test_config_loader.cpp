// What a valid config turns into: defaults, every key read, per-model engine merging, path
// resolution, ${VAR} expansion, plugin settings as JSON, and the tool-name rule.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/config_loader.h"
#include "config_test_support.h"

namespace toolgate::config {
namespace {

using testing::without_file_checks;

Config load_ok(const std::string& yaml, const ValidationContext& ctx = without_file_checks(),
               const std::string& name = "<string>") {
  LoadResult result = load_config_string(yaml, name, ctx);
  EXPECT_TRUE(result.ok()) << result.error_text();
  return result.config.value_or(Config{});
}

TEST(ConfigLoader, MinimalConfigTakesEveryDefault) {
  const Config c = load_ok("models:\n  - id: m\n    path: /models/m.gguf\n");
  Config expected;
  expected.source = "<string>";
  ModelConfig model;
  model.id = "m";
  model.path = "/models/m.gguf";
  expected.models.push_back(model);
  EXPECT_EQ(c, expected);
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.max_body_bytes, 4u << 20);
  EXPECT_EQ(c.engine.block_size, 16);
  EXPECT_FALSE(c.engine.kv_budget_bytes.has_value());
  EXPECT_EQ(c.tools.timeout_ms, 5000);
}

TEST(ConfigLoader, ReadsEveryKey) {
  const Config c = load_ok(R"(
server:
  host: 0.0.0.0
  port: 9000
  io_threads: 4
  api_keys: [k1, k2]
  cors_origins: ["*"]
  max_body_bytes: 1MiB
  header_timeout_ms: 1
  idle_timeout_ms: 2
  request_timeout_ms: 3
  max_concurrent_requests: 5
  max_queue: 0
  max_tokens_per_request: 100
  max_tool_rounds: 2
logging: {level: debug, format: json, access_log: false}
engine:
  threads: 3
  kv_budget_bytes: 1GB
  kv_budget_fraction: 0.25
  block_size: 32
  kv_dtype: int8
  max_num_seqs: 8
  max_tokens_per_step: 256
  prefix_caching: no
  kv_preallocate: true
models:
  - id: local
    path: /m.gguf
    aliases: [a, b]
    context_length: 2048
    chat_template: "{% for m in messages %}{{ m.content }}{% endfor %}"
    tool_dialect: hermes
    sampling: {temperature: 0.7, top_p: 0.9, min_p: 0.05, repetition_penalty: 1.1,
               presence_penalty: -0.5, frequency_penalty: 0.5, top_k: 40, max_tokens: 256}
    server_tools: [add]
  - id: remote
    upstream:
      base_url: https://api.example.com/v1
      api_key: sk-x
      model: gpt-4o-mini
      timeout_ms: 1000
      retries: 0
    server_tools: [add]
tools:
  builtin: [add]
  timeout_ms: 100
)");
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.io_threads, 4);
  EXPECT_EQ(c.server.api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(c.server.cors_origins, std::vector<std::string>{"*"});
  EXPECT_EQ(c.server.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.server.header_timeout_ms, 1);
  EXPECT_EQ(c.server.idle_timeout_ms, 2);
  EXPECT_EQ(c.server.request_timeout_ms, 3);
  EXPECT_EQ(c.server.max_concurrent_requests, 5);
  EXPECT_EQ(c.server.max_queue, 0);
  EXPECT_EQ(c.server.max_tokens_per_request, 100);
  EXPECT_EQ(c.server.max_tool_rounds, 2);
  EXPECT_EQ(c.logging, (LoggingConfig{"debug", "json", false}));
  EXPECT_EQ(c.engine.threads, 3);
  EXPECT_EQ(c.engine.kv_budget_bytes, 1000000000u);
  EXPECT_EQ(c.engine.kv_budget_fraction, 0.25);
  EXPECT_EQ(c.engine.block_size, 32);
  EXPECT_EQ(c.engine.kv_dtype, "int8");
  EXPECT_EQ(c.engine.max_num_seqs, 8);
  EXPECT_EQ(c.engine.max_tokens_per_step, 256);
  EXPECT_FALSE(c.engine.prefix_caching);
  EXPECT_TRUE(c.engine.kv_preallocate);
  ASSERT_EQ(c.models.size(), 2u);
  const ModelConfig& local = c.models[0];
  EXPECT_EQ(local.aliases, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(local.context_length, 2048);
  EXPECT_EQ(local.chat_template, "{% for m in messages %}{{ m.content }}{% endfor %}");
  EXPECT_EQ(local.tool_dialect, "hermes");
  EXPECT_EQ(local.sampling.temperature, 0.7);
  EXPECT_EQ(local.sampling.top_p, 0.9);
  EXPECT_EQ(local.sampling.min_p, 0.05);
  EXPECT_EQ(local.sampling.repetition_penalty, 1.1);
  EXPECT_EQ(local.sampling.presence_penalty, -0.5);
  EXPECT_EQ(local.sampling.frequency_penalty, 0.5);
  EXPECT_EQ(local.sampling.top_k, 40);
  EXPECT_EQ(local.sampling.max_tokens, 256);
  EXPECT_EQ(local.server_tools, std::vector<std::string>{"add"});
  EXPECT_FALSE(local.engine.has_value());
  const ModelConfig& remote = c.models[1];
  EXPECT_TRUE(remote.path.empty());
  ASSERT_TRUE(remote.upstream.has_value());
  UpstreamConfig want;
  want.base_url = "https://api.example.com/v1";
  want.api_key = "sk-x";
  want.model = "gpt-4o-mini";
  want.timeout_ms = 1000;
  want.retries = 0;
  EXPECT_EQ(*remote.upstream, want);
  // The gateway runs them around the upstream's rounds.
  EXPECT_EQ(remote.server_tools, std::vector<std::string>{"add"});
  EXPECT_EQ(c.tools.builtin, std::vector<std::string>{"add"});
  EXPECT_EQ(c.tools.timeout_ms, 100);
}

TEST(ConfigLoader, ModelEngineSectionIsMergedOverTheGlobalOneWhereverItIsWritten) {
  // models comes before engine in the file: merging must not depend on key order.
  const Config c = load_ok(R"(
models:
  - id: tuned
    path: /a.gguf
    engine: {block_size: 32, kv_dtype: int8}
  - id: plain
    path: /b.gguf
engine:
  threads: 6
  block_size: 64
)");
  ASSERT_TRUE(c.models[0].engine.has_value());
  EngineSettings expected = c.engine;
  expected.block_size = 32;
  expected.kv_dtype = "int8";
  EXPECT_EQ(*c.models[0].engine, expected);
  EXPECT_EQ(c.models[0].engine->threads, 6);
  EXPECT_EQ(engine_settings_for(c, c.models[1]).block_size, 64);
}

TEST(ConfigLoader, UpstreamModelNameDefaultsToTheId) {
  const Config c =
      load_ok("models:\n  - id: gpt-4o\n    upstream: {base_url: 'http://localhost:9000/v1'}\n");
  EXPECT_EQ(c.models[0].upstream->model, "gpt-4o");
  EXPECT_EQ(c.models[0].upstream->retries, 1);
}

TEST(ConfigLoader, RelativePathsAreResolvedAgainstTheConfigFilesDirectory) {
  const std::string yaml = R"(
models:
  - id: m
    path: ../models/m.gguf
    chat_template_file: templates/chatml.jinja
  - id: abs
    path: /opt/models/abs.gguf
tools:
  plugins:
    - path: plugins/libweather.so
)";
  const Config from_dir = load_ok(yaml, without_file_checks(), "/etc/toolgate/deploy.yaml");
  EXPECT_EQ(from_dir.models[0].path, "/etc/models/m.gguf");
  EXPECT_EQ(from_dir.models[0].chat_template_file, "/etc/toolgate/templates/chatml.jinja");
  EXPECT_EQ(from_dir.models[1].path, "/opt/models/abs.gguf");
  EXPECT_EQ(from_dir.tools.plugins[0].path, "/etc/toolgate/plugins/libweather.so");
  // A name without a directory leaves relative paths relative (to the working directory).
  const Config bare = load_ok(yaml, without_file_checks(), "inline");
  EXPECT_EQ(bare.models[0].path, "../models/m.gguf");
}

TEST(ConfigLoader, ExistingModelFileRelativeToTheConfigPassesFileChecks) {
  const auto model = toolgate::testing::default_model();
  if (model.empty()) GTEST_SKIP() << "default model not fetched";
  const auto dir = std::filesystem::absolute(model).parent_path() / "sub";
  const std::string yaml = "models:\n  - id: m\n    path: ../" + model.filename().string() + "\n";
  const LoadResult result = load_config_string(yaml, (dir / "deploy.yaml").string());
  EXPECT_TRUE(result.ok()) << result.error_text();
}

TEST(ConfigLoader, ExpandsEnvironmentVariablesInValuesOfAnyType) {
  ::setenv("TOOLGATE_TEST_API_KEY", "sk-secret", 1);
  ::setenv("TOOLGATE_TEST_PORT", "9123", 1);
  ::setenv("TOOLGATE_TEST_UPSTREAM", "https://api.example.com/v1", 1);
  const Config c = load_ok(R"(
server:
  port: ${TOOLGATE_TEST_PORT}
  api_keys: ["${TOOLGATE_TEST_API_KEY}", "literal-key", "$${NOT_EXPANDED}"]
  max_body_bytes: ${TOOLGATE_TEST_UNSET_SIZE:-2MiB}
models:
  - id: remote
    upstream:
      base_url: ${TOOLGATE_TEST_UPSTREAM}
      api_key: Bearer-${TOOLGATE_TEST_API_KEY}
)");
  EXPECT_EQ(c.server.port, 9123);
  EXPECT_EQ(c.server.api_keys,
            (std::vector<std::string>{"sk-secret", "literal-key", "${NOT_EXPANDED}"}));
  EXPECT_EQ(c.server.max_body_bytes, 2u << 20);
  EXPECT_EQ(c.models[0].upstream->base_url, "https://api.example.com/v1");
  EXPECT_EQ(c.models[0].upstream->api_key, "Bearer-sk-secret");
  ::unsetenv("TOOLGATE_TEST_API_KEY");
  ::unsetenv("TOOLGATE_TEST_PORT");
  ::unsetenv("TOOLGATE_TEST_UPSTREAM");
}

TEST(ConfigLoader, EveryUnsetVariableIsReportedByName) {
  const LoadResult result = load_config_string(R"(
server:
  api_keys: ["${TOOLGATE_TEST_NOPE_A}"]
models:
  - id: remote
    upstream:
      base_url: https://x.example/v1
      api_key: ${TOOLGATE_TEST_NOPE_B}
)",
                                               "deploy.yaml", without_file_checks());
  ASSERT_EQ(result.issues.size(), 2u) << result.error_text();
  EXPECT_EQ(result.issues[0].to_string(),
            "deploy.yaml:3:14: server.api_keys[0]: environment variable 'TOOLGATE_TEST_NOPE_A' is "
            "not set");
  EXPECT_EQ(result.issues[1].to_string(),
            "deploy.yaml:8:16: models[0].upstream.api_key: environment variable "
            "'TOOLGATE_TEST_NOPE_B' is not set");
}

TEST(ConfigLoader, InlineChatTemplateIsNotExpanded) {
  const Config c =
      load_ok("models:\n  - id: m\n    path: /m.gguf\n    chat_template: 'x ${NOT_A_VAR} y'\n");
  EXPECT_EQ(c.models[0].chat_template, "x ${NOT_A_VAR} y");
}

TEST(ConfigLoader, PluginSettingsBecomeJsonText) {
  ::setenv("TOOLGATE_TEST_WEATHER_KEY", "w-123", 1);
  const Config c = load_ok(R"(
models:
  - id: m
    path: /m.gguf
tools:
  plugins:
    - path: /plugins/libweather.so
      settings:
        units: metric
        api_key: ${TOOLGATE_TEST_WEATHER_KEY}
        retries: 3
        ratio: -1.5e3
        verbose: true
        quoted_number: "42"
        nothing: ~
        cities: [Paris, "New \"York\""]
        nested: {a: {b: null}}
    - path: /plugins/libnosettings.so
)");
  ASSERT_EQ(c.tools.plugins.size(), 2u);
  EXPECT_EQ(c.tools.plugins[0].settings_json,
            R"({"units":"metric","api_key":"w-123","retries":3,"ratio":-1.5e3,"verbose":true,)"
            R"("quoted_number":"42","nothing":null,"cities":["Paris","New \"York\""],)"
            R"("nested":{"a":{"b":null}}})");
  EXPECT_EQ(c.tools.plugins[1].settings_json, "{}");
  ::unsetenv("TOOLGATE_TEST_WEATHER_KEY");
}

TEST(ConfigLoader, EmptySectionsMeanDefaults) {
  const Config c =
      load_ok("server:\nlogging:\nengine:\nmodels:\n  - id: m\n    path: /m\ntools:\n");
  EXPECT_EQ(c.server, ServerConfig{});
  EXPECT_EQ(c.tools, ToolsConfig{});
}

TEST(ConfigLoader, EmptyFileReportsThatThereAreNoModels) {
  const LoadResult result = load_config_string("# nothing yet\n", "empty.yaml");
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].to_string(),
            "empty.yaml: models: no models configured; add at least one under 'models:'");
}

TEST(ConfigLoader, AliasMayNotRepeatItsOwnModelsId) {
  const LoadResult result = load_config_string(
      "models:\n  - id: m\n    path: /m\n    aliases: [m]\n", "a.yaml", without_file_checks());
  ASSERT_EQ(result.issues.size(), 1u);
  EXPECT_EQ(result.issues[0].to_string(),
            "a.yaml:4:15: models[0].aliases[0]: model name 'm' is already used by models[0].id at "
            "line 2");
}

// The tool-name rule (ValidationContext::tool_exists).
TEST(ToolNames, ServerToolsMustBeEnabledBuiltinsUnlessTheRegistryKnowsThem) {
  const std::string yaml =
      "models:\n  - id: m\n    path: /m\n    server_tools: [weather]\ntools:\n  builtin: [add]\n";
  EXPECT_FALSE(load_config_string(yaml, "a.yaml", without_file_checks()).ok());
  ValidationContext ctx = without_file_checks();
  ctx.tool_exists = [](const std::string& name) { return name == "weather"; };
  EXPECT_TRUE(load_config_string(yaml, "a.yaml", ctx).ok());
}

TEST(ToolNames, PluginToolNamesAreTrustedUntilThePluginsAreLoaded) {
  const std::string yaml = R"(
models:
  - id: m
    path: /m
    server_tools: [weather, mul]
tools:
  builtin: [add]
  plugins:
    - path: /plugins/libweather.so
)";
  // Without a registry, "weather" may come from the plugin; "mul" is a built-in that is off.
  const LoadResult result = load_config_string(yaml, "a.yaml", without_file_checks());
  ASSERT_EQ(result.issues.size(), 1u) << result.error_text();
  EXPECT_EQ(result.issues[0].path, "models[0].server_tools[1]");
  EXPECT_EQ(result.issues[0].message,
            "tool 'mul' is built in but not enabled; add it to tools.builtin");
}

TEST(ToolNames, RegistryMayAcceptMoreBuiltinNames) {
  ValidationContext ctx = without_file_checks();
  ctx.tool_exists = [](const std::string& name) { return name == "web_search"; };
  EXPECT_TRUE(
      load_config_string("models:\n  - id: m\n    path: /m\ntools:\n  builtin: [web_search]\n",
                         "a.yaml", ctx)
          .ok());
}

TEST(ValidateConfig, ChecksAConfigChangedAfterLoadingWithoutLineNumbers) {
  Config c = load_ok("models:\n  - id: m\n    path: /m\n    engine: {}\n");
  c.server.port = 0;
  c.models[0].engine->block_size = 100;
  const auto issues = validate_config(c, without_file_checks());
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].to_string(), "<string>: server.port: expected a port in 1..65535, got 0");
  EXPECT_EQ(issues[1].to_string(),
            "<string>: models[0].engine.block_size: expected a power of two in 8..256, got 100");
}

TEST(ValidateConfig, ABadGlobalEngineValueIsReportedOnceNotPerModel) {
  const LoadResult result = load_config_string(
      "engine: {block_size: 7}\nmodels:\n  - id: m\n    path: /m\n    engine: {threads: 2}\n",
      "a.yaml", without_file_checks());
  ASSERT_EQ(result.issues.size(), 1u) << result.error_text();
  EXPECT_EQ(result.issues[0].path, "engine.block_size");
}

}  // namespace
}  // namespace toolgate::config

namespace toolgate::config {
namespace {

TEST(ConfigLoader, StoreSectionIsOffByDefaultAndReadWhenGiven) {
  const Config off = load_ok("models:\n  - id: m\n    path: /models/m.gguf\n");
  EXPECT_FALSE(off.store.enabled);
  EXPECT_TRUE(off.server.web_ui);
  const Config on = load_ok(
      "server: {web_ui: false}\n"
      "store: {enabled: true, path: data/chats.db, retention_days: 30}\n"
      "models:\n  - id: m\n    path: /models/m.gguf\n",
      without_file_checks(), "/etc/toolgate/config.yaml");
  EXPECT_TRUE(on.store.enabled);
  // Relative to the working directory, not to the config file.
  EXPECT_EQ(on.store.path, "data/chats.db");
  EXPECT_EQ(on.store.retention_days, 30);
  EXPECT_FALSE(on.server.web_ui);
}

TEST(ConfigLoader, StoreMistakesAreReported) {
  for (const char* store : {"store: {retention_days: -1}", "store: {enabled: true, path: ''}",
                            "store: {enabeld: true}"}) {
    LoadResult r =
        load_config_string(std::string(store) + "\nmodels:\n  - id: m\n    path: /m.gguf\n",
                           "<string>", without_file_checks());
    EXPECT_FALSE(r.ok()) << store;
  }
}

}  // namespace
}  // namespace toolgate::config

namespace toolgate::config {
namespace {

TEST(ServerHardening, TlsPathsResolveAgainstTheConfigAndHeaderLimitsAreRead) {
  const Config c = load_ok(R"(
server:
  max_header_bytes: 8KiB
  max_header_count: 50
  tls:
    cert: certs/server.pem
    key: /secret/server.key
    min_version: "1.3"
models:
  - id: m
    path: /m
)",
                           without_file_checks(), "/etc/toolgate/deploy.yaml");
  ASSERT_TRUE(c.server.tls.has_value());
  EXPECT_EQ(c.server.tls->cert, "/etc/toolgate/certs/server.pem");
  EXPECT_EQ(c.server.tls->key, "/secret/server.key");
  EXPECT_EQ(c.server.tls->min_version, "1.3");
  EXPECT_EQ(c.server.max_header_bytes, 8u << 10);
  EXPECT_EQ(c.server.max_header_count, 50);
  EXPECT_FALSE(load_ok("models:\n  - id: m\n    path: /m\n").server.tls.has_value());
}

TEST(ServerHardening, BadTlsAndHeaderLimitValuesAreNamed) {
  LoadResult r = load_config_string(R"(
server:
  max_header_count: 2
  tls:
    cert: a.pem
    min_version: 1.1
models:
  - id: m
    path: /m
)",
                                    "<string>", without_file_checks());
  ASSERT_FALSE(r.ok());
  const std::string text = r.error_text();
  EXPECT_NE(text.find("server.max_header_count: must be at least 8"), std::string::npos) << text;
  EXPECT_NE(text.find("server.tls.key: must name a PEM private key file"), std::string::npos)
      << text;
  EXPECT_NE(text.find("server.tls.min_version: expected one of"), std::string::npos) << text;
}

}  // namespace
}  // namespace toolgate::config

namespace toolgate::config {
namespace {

TEST(PluginIsolationConfig, IsolationAndLimitsAreReadAndChecked) {
  const Config c = load_ok(R"(
models:
  - id: m
    path: /m
tools:
  plugins:
    - path: /p/a.so
    - path: /p/b.so
      isolation: process
      cpu_seconds: 5
      max_memory_bytes: 256MiB
)");
  EXPECT_EQ(c.tools.plugins[0].isolation, "none");
  EXPECT_EQ(c.tools.plugins[1].isolation, "process");
  EXPECT_EQ(c.tools.plugins[1].cpu_seconds, 5);
  EXPECT_EQ(c.tools.plugins[1].max_memory_bytes, 256ull << 20);

  LoadResult bad = load_config_string(R"(
models:
  - id: m
    path: /m
tools:
  plugins:
    - path: /p/a.so
      isolation: proces
      max_memory_bytes: 1MiB
)",
                                      "<string>", without_file_checks());
  ASSERT_FALSE(bad.ok());
  const std::string text = bad.error_text();
  EXPECT_NE(text.find("tools.plugins[0].isolation: expected one of"), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean 'process'"), std::string::npos) << text;
  EXPECT_NE(text.find("tools.plugins[0].max_memory_bytes: must be at least 64 MiB"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace toolgate::config
