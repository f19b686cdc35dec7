// Named API keys in the config: `server.keys` and `server.metrics_auth`.
#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config/config_printer.h"
#include "config_test_support.h"

namespace toolgate::config {
namespace {

using testing::without_file_checks;

LoadResult load(const std::string& server) {
  return load_config_string("server:\n" + server + "models:\n  - id: m\n    path: /m.gguf\n",
                            "<string>", without_file_checks());
}

TEST(KeyConfig, ReadsNamedKeysWithTheirPolicies) {
  LoadResult r = load(
      "  metrics_auth: true\n"
      "  keys:\n"
      "    - {name: alice, key: sk-a, requests_per_minute: 60}\n"
      "    - {name: bob, key: sk-b, models: [m], tokens_per_minute: 1000}\n");
  ASSERT_TRUE(r.ok()) << r.error_text();
  const ServerConfig& s = r.config->server;
  EXPECT_TRUE(s.metrics_auth);
  ASSERT_EQ(s.keys.size(), 2u);
  EXPECT_EQ(s.keys[0].name, "alice");
  EXPECT_EQ(s.keys[0].requests_per_minute, 60);
  EXPECT_EQ(s.keys[0].tokens_per_minute, 0);
  EXPECT_EQ(s.keys[1].models, std::vector<std::string>{"m"});
  EXPECT_EQ(s.keys[1].tokens_per_minute, 1000);
  // Printed masked by default.
  const std::string yaml = to_yaml(*r.config);
  EXPECT_EQ(yaml.find("sk-a"), std::string::npos);
  EXPECT_NE(yaml.find("name: \"alice\""), std::string::npos) << yaml;
}

TEST(KeyConfig, MistakesAreReportedAtTheirKey) {
  struct Case {
    const char* yaml;
    const char* where;
  };
  for (const Case& c : {
           Case{"  keys:\n    - {key: sk-a}\n", "server.keys[0].name"},
           Case{"  keys:\n    - {name: a}\n", "server.keys[0].key"},
           Case{"  keys:\n    - {name: a, key: x}\n    - {name: a, key: y}\n",
                "server.keys[1].name"},
           Case{"  keys:\n    - {name: a, key: x}\n    - {name: b, key: x}\n",
                "server.keys[1].key"},
           Case{"  keys:\n    - {name: a, key: x, requests_per_minute: -1}\n",
                "server.keys[0].requests_per_minute"},
           Case{"  keys:\n    - {name: a, key: x, rpm: 5}\n", "server.keys[0]"},
       }) {
    LoadResult r = load(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.error_text().find(c.where), std::string::npos) << r.error_text();
  }
}

}  // namespace
}  // namespace toolgate::config
