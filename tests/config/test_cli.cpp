// The `toolgate` command line: flags, their errors, and how they override a config.
#include <gtest/gtest.h>

#include "config/cli.h"
#include "config_test_support.h"

namespace toolgate::config {
namespace {

using testing::without_file_checks;

CliParseResult parse(std::vector<std::string> args) { return parse_cli(args); }

TEST(ParseCli, NoFlagsMeansNoOverrides) {
  const auto r = parse({});
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.options.config_path);
  EXPECT_FALSE(r.options.model_path);
  EXPECT_FALSE(r.options.check_config || r.options.print_config || r.options.help ||
               r.options.version);
}

TEST(ParseCli, ReadsEveryFlagWithSpaceOrEqualsValues) {
  const auto r = parse({"--config", "deploy.yaml", "--print-config", "--model=/m/x.gguf", "--host",
                        "0.0.0.0", "--port=9000", "--threads", "4", "--log-level", "debug"});
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.options.config_path, "deploy.yaml");
  EXPECT_FALSE(r.options.check_config);
  EXPECT_TRUE(r.options.print_config);
  EXPECT_EQ(r.options.model_path, "/m/x.gguf");
  EXPECT_EQ(r.options.host, "0.0.0.0");
  EXPECT_EQ(r.options.port, 9000);
  EXPECT_EQ(r.options.threads, 4);
  EXPECT_EQ(r.options.log_level, "debug");
}

TEST(ParseCli, CheckConfigNamesTheFileToCheck) {
  const auto r = parse({"--check-config", "deploy.yaml"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.options.check_config);
  EXPECT_EQ(r.options.config_path, "deploy.yaml");
  EXPECT_TRUE(parse({"--config", "a.yaml", "--check-config", "a.yaml"}).ok());
}

TEST(ParseCli, HelpAndVersionHaveShortForms) {
  EXPECT_TRUE(parse({"-h"}).options.help);
  EXPECT_TRUE(parse({"--help"}).options.help);
  EXPECT_TRUE(parse({"-V"}).options.version);
  EXPECT_TRUE(parse({"--version"}).options.version);
}

TEST(ParseCli, ArgcArgvFormSkipsTheProgramName) {
  char prog[] = "toolgate", flag[] = "--port", value[] = "1234";
  char* argv[] = {prog, flag, value, nullptr};
  const auto r = parse_cli(3, argv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.options.port, 1234);
}

TEST(ParseCli, ReportsEveryBadArgument) {
  const std::pair<std::vector<std::string>, std::vector<std::string>> cases[] = {
      {{"--prot", "80"},
       {"unknown flag '--prot'; did you mean '--port'? (see --help)",
        "unexpected argument '80' (flags start with --; see --help)"}},
      {{"--port", "0"}, {"--port: expected a port in 1..65535, got '0'"}},
      {{"--port", "http"}, {"--port: expected a port in 1..65535, got 'http'"}},
      {{"--port=70000"}, {"--port: expected a port in 1..65535, got '70000'"}},
      {{"--threads", "-1"}, {"--threads: expected a whole number >= 0 (0 = all cores), got '-1'"}},
      {{"--log-level", "loud"},
       {"--log-level: expected one of trace, debug, info, warn, error, critical, off, got "
        "'loud'"}},
      {{"--config"}, {"--config: missing value FILE"}},
      {{"--model="}, {"--model: the value must not be empty"}},
      {{"--help=yes"}, {"--help takes no value"}},
      {{"deploy.yaml"}, {"unexpected argument 'deploy.yaml' (flags start with --; see --help)"}},
      {{"--config", "a.yaml", "--check-config", "b.yaml"},
       {"--config and --check-config name different files ('a.yaml' and 'b.yaml'); give one"}},
      {{"--port", "0", "--threads", "x"},
       {"--port: expected a port in 1..65535, got '0'",
        "--threads: expected a whole number >= 0 (0 = all cores), got 'x'"}},
  };
  for (const auto& [args, errors] : cases) {
    EXPECT_EQ(parse(args).errors, errors) << args[0];
  }
}

TEST(CliHelp, DocumentsEveryFlag) {
  const std::string help = cli_help();
  for (const char* flag :
       {"--config FILE", "--check-config FILE", "--print-config", "--model PATH", "--host H",
        "--port N", "--threads N", "--log-level L", "--help", "--version"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(ApplyCli, ModelWithoutAConfigMakesAOneModelConfigNamedAfterTheFile) {
  CliOptions o;
  o.model_path = "/models/SmolLM2-135M-Instruct-Q4_1.gguf";
  const Config c = apply_cli(Config{}, o);
  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_EQ(c.models[0].id, "smollm2-135m-instruct-q4_1");
  EXPECT_EQ(c.models[0].path, "/models/SmolLM2-135M-Instruct-Q4_1.gguf");
  EXPECT_EQ(c.source, "<command line>");
  o.model_path = "weights/Tiny.GGUF";
  EXPECT_EQ(apply_cli(Config{}, o).models[0].id, "tiny");
  o.model_path = "weights/tiny.bin";
  EXPECT_EQ(apply_cli(Config{}, o).models[0].id, "tiny.bin");
}

TEST(ApplyCli, ModelWithAConfigReplacesTheFirstModelsPath) {
  LoadResult loaded = load_config_string(R"(
models:
  - id: first
    upstream: {base_url: 'https://x.example/v1'}
  - id: second
    path: /b.gguf
    engine: {threads: 2}
)",
                                         "deploy.yaml", without_file_checks());
  ASSERT_TRUE(loaded.ok()) << loaded.error_text();
  CliOptions o;
  o.model_path = "/other.gguf";
  o.host = "0.0.0.0";
  o.port = 9999;
  o.threads = 7;
  o.log_level = "warn";
  const Config c = apply_cli(*loaded.config, o);
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.models[0].id, "first");
  EXPECT_EQ(c.models[0].path, "/other.gguf");
  EXPECT_FALSE(c.models[0].upstream.has_value());  // it became a local model
  EXPECT_EQ(c.models[1].path, "/b.gguf");
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9999);
  EXPECT_EQ(c.logging.level, "warn");
  EXPECT_EQ(c.engine.threads, 7);
  EXPECT_EQ(c.models[1].engine->threads, 7);  // the flag wins over per-model overrides too
  EXPECT_EQ(c.source, "deploy.yaml");
}

TEST(ApplyCli, NoFlagsChangeNothing) {
  LoadResult loaded = load_config_file(default_config_path(), without_file_checks());
  ASSERT_TRUE(loaded.ok()) << loaded.error_text();
  EXPECT_EQ(apply_cli(*loaded.config, CliOptions{}), *loaded.config);
}

TEST(ResolveConfig, FlagsOverTheConfigFileAreValidated) {
  CliOptions o;
  o.config_path = default_config_path().string();
  o.port = 8181;
  LoadResult r = resolve_config(o, without_file_checks());
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r.config->server.port, 8181);

  o.model_path = "/definitely/not/here.gguf";
  r = resolve_config(o);  // with file checks: the replaced first model is checked
  ASSERT_FALSE(r.ok());
  ASSERT_GE(r.issues.size(), 1u);
  EXPECT_EQ(r.issues[0].path, "models[0].path");
  EXPECT_EQ(r.issues[0].message, "model file not found: /definitely/not/here.gguf");
}

TEST(ResolveConfig, ModelFlagAloneNeedsNoConfigFile) {
  CliOptions o;
  o.model_path = "/m/Tiny.gguf";
  const LoadResult r = resolve_config(o, without_file_checks());
  ASSERT_TRUE(r.ok()) << r.error_text();
  ASSERT_EQ(r.config->models.size(), 1u);
  EXPECT_EQ(r.config->models[0].id, "tiny");
}

TEST(ResolveConfig, BrokenConfigFileIssuesKeepTheirLineNumbers) {
  CliOptions o;
  o.config_path = testing::fixture("port_out_of_range.yaml").string();
  const LoadResult r = resolve_config(o, without_file_checks());
  ASSERT_EQ(r.issues.size(), 1u);
  EXPECT_EQ(r.issues[0].line, 2);
}

}  // namespace
}  // namespace toolgate::config
