// --print-config output: complete, readable, and it loads back to the same Config.
#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config/config_printer.h"
#include "config_test_support.h"

namespace toolgate::config {
namespace {

using testing::without_file_checks;

Config reload(const std::string& yaml, const std::string& source) {
  LoadResult r = load_config_string(yaml, source, without_file_checks());
  EXPECT_TRUE(r.ok()) << r.error_text() << "\n" << yaml;
  return r.config.value_or(Config{});
}

// A config that exercises every field, including awkward strings.
Config everything() {
  Config c;
  c.source = "/etc/toolgate/deploy.yaml";
  c.server.host = "0.0.0.0";
  c.server.port = 9000;
  c.server.api_keys = {"sk-one", "sk-two"};
  c.server.cors_origins = {"*", "https://app.example.com"};
  c.server.max_body_bytes = 1536 * 1024;
  c.server.max_queue = 0;
  c.logging = {"debug", "json", false};
  c.engine.threads = 4;
  c.engine.kv_budget_bytes = 1000000000;
  c.engine.kv_budget_fraction = 0.3;
  c.engine.kv_dtype = "int8";
  c.engine.kv_preallocate = true;
  ModelConfig local;
  local.id = "local";
  local.path = "/models/with space/m.gguf";
  local.aliases = {"yes", "null", "1e3", "a: b", "# not a comment"};
  local.context_length = 4096;
  local.chat_template =
      "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\t\"${literal}\"\\{% endfor %}";
  local.tool_dialect = "hermes";
  local.sampling.temperature = 0.1;
  local.sampling.top_p = 0.95;
  local.sampling.min_p = 1e-5;
  local.sampling.top_k = 40;
  local.sampling.max_tokens = 64;
  local.server_tools = {"add"};
  local.engine = c.engine;
  local.engine->block_size = 32;
  ModelConfig remote;
  remote.id = "remote";
  remote.upstream.emplace();
  remote.upstream->base_url = "https://api.example.com/v1";
  remote.upstream->api_key = "sk-up";
  remote.upstream->model = "gpt-x";
  remote.upstream->timeout_ms = 1000;
  remote.upstream->retries = 3;
  ModelConfig tmpl;
  tmpl.id = "templated";
  tmpl.path = "/models/t.gguf";
  tmpl.chat_template_file = "/templates/t.jinja";
  c.models = {local, remote, tmpl};
  c.tools.builtin = {"add", "calculator"};
  c.tools.plugins = {
      {"/plugins/libw.so", R"({"units":"metric","n":[1,2.5,null,true],"s":"a\"b${X}"})"},
      {"/plugins/libe.so", "{}"}};
  c.tools.timeout_ms = 1234;
  return c;
}

TEST(ConfigPrinter, UnmaskedOutputReloadsToAnEqualConfig) {
  const Config c = everything();
  PrintOptions options;
  options.mask_secrets = false;
  EXPECT_EQ(reload(to_yaml(c, options), c.source), c);
}

TEST(ConfigPrinter, DefaultsRoundTrip) {
  Config c;
  c.source = "x.yaml";
  ModelConfig m;
  m.id = "m";
  m.path = "/m.gguf";
  c.models.push_back(m);
  EXPECT_EQ(reload(to_yaml(c), c.source), c);
}

TEST(ConfigPrinter, MasksSecretsAndOtherwiseRoundTrips) {
  const Config c = everything();
  const std::string yaml = to_yaml(c);
  EXPECT_EQ(yaml.find("sk-"), std::string::npos) << yaml;
  Config masked = c;
  masked.server.api_keys = {"***", "***"};
  masked.models[1].upstream->api_key = "***";
  EXPECT_EQ(reload(yaml, c.source), masked);
}

TEST(ConfigPrinter, FillsInEveryDefault) {
  const Config c = reload("models:\n  - id: m\n    path: /m.gguf\n", "min.yaml");
  const std::string yaml = to_yaml(c);
  for (const char* line :
       {"  host: \"127.0.0.1\"\n", "  port: 8080\n", "  max_body_bytes: 4MiB\n",
        "  request_timeout_ms: 600000\n", "  level: \"info\"\n", "  access_log: true\n",
        "  threads: 0\n", "  kv_budget_fraction: 0.1\n", "  block_size: 16\n",
        "  kv_dtype: \"f16\"\n", "  prefix_caching: true\n", "  - id: \"m\"\n",
        "    path: \"/m.gguf\"\n", "  timeout_ms: 5000\n"}) {
    EXPECT_NE(yaml.find(line), std::string::npos) << line << "\nnot in:\n" << yaml;
  }
}

TEST(ConfigPrinter, DefaultDeploymentRoundTrips) {
  LoadResult r = load_config_file(default_config_path(), without_file_checks());
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(reload(to_yaml(*r.config), r.config->source), *r.config);
}

}  // namespace
}  // namespace toolgate::config
