#pragma once
// The `toolgate` command line: flags parsed into CliOptions (every problem reported, nothing
// thrown), and the overrides they make to a loaded Config.
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/config_issue.h"
#include "config/config_loader.h"

namespace toolgate::config {

struct CliOptions {
  std::optional<std::string> config_path;  // --config FILE or --check-config FILE
  bool check_config = false;               // validate, report, exit (0 = valid)
  bool print_config = false;               // print the effective config as YAML, exit
  bool help = false;
  bool version = false;
  std::optional<std::string> model_path;  // --model PATH
  std::optional<std::string> host;
  std::optional<std::string> log_level;
  std::optional<int> port;
  std::optional<int> threads;
};

struct CliParseResult {
  CliOptions options;
  std::vector<std::string> errors;  // e.g. "--port: expected a port in 1..65535, got '0'"

  bool ok() const { return errors.empty(); }
};

// Flags take their value as the next argument or after '=' (--port=9000). -h is --help, -V is
// --version. A flag given twice keeps the last value.
CliParseResult parse_cli(int argc, char** argv);
CliParseResult parse_cli(const std::vector<std::string>& args);  // without the program name

// The usage text printed by --help, one line per flag.
std::string cli_help();

// Applies the flags over a config:
//  - --model PATH: without models (no config file) a one-model config whose id is the file name
//    lowercased without ".gguf"; otherwise the first model's path (it becomes a local model).
//  - --host/--port set server.host/port; --log-level sets logging.level;
//    --threads sets engine.threads and every per-model engine override's threads.
// Nothing is validated here: run validate_config() on the result.
Config apply_cli(Config config, const CliOptions& options);

// What `toolgate` starts from: the --config file (or, with neither --config nor --model, the
// default deployment at default_config_path()), with apply_cli() and validate_config() run on
// it. Issues from the file carry line numbers; problems with flag values carry none.
LoadResult resolve_config(const CliOptions& options, const ValidationContext& ctx = {});

}  // namespace toolgate::config
