#include "config/cli.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "config/did_you_mean.h"

namespace toolgate::config {
namespace {

struct FlagSpec {
  const char* name;
  const char* value_name;  // nullptr for switches
  const char* help;
};

const FlagSpec kFlags[] = {
    {"--config", "FILE", "Load the deployment config from FILE (YAML; see config/README.md)."},
    {"--check-config", "FILE", "Validate FILE, print every problem with file:line:col, exit."},
    {"--print-config", nullptr,
     "Print the effective config (defaults filled in, API keys masked) and exit."},
    {"--model", "PATH",
     "Serve the GGUF at PATH. Alone: a one-model deployment (id = file name);\n"
     "                        with --config: replaces the first model's path."},
    {"--host", "H", "Address to listen on (overrides server.host; default 127.0.0.1)."},
    {"--port", "N", "Port to listen on, 1..65535 (overrides server.port; default 8080)."},
    {"--threads", "N", "Engine compute threads, 0 = all cores (overrides engine.threads)."},
    {"--log-level", "L",
     "trace, debug, info, warn, error, critical or off (overrides logging.level)."},
    {"--help", nullptr, "Print this help and exit (also -h)."},
    {"--version", nullptr, "Print the version and exit (also -V)."},
};

const FlagSpec* find_flag(const std::string& name) {
  for (const auto& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

std::optional<int> parse_int(const std::string& text) {
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

CliParseResult parse_cli(const std::vector<std::string>& args) {
  CliParseResult result;
  CliOptions& o = result.options;
  auto& errors = result.errors;
  std::optional<std::string> config_flag, check_flag;

  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (name == "-h") name = "--help";
    if (name == "-V") name = "--version";
    if (name.rfind("--", 0) == 0) {
      if (const size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
    } else {
      errors.push_back("unexpected argument '" + name + "' (flags start with --; see --help)");
      continue;
    }
    const FlagSpec* flag = find_flag(name);
    if (!flag) {
      std::vector<std::string> names;
      for (const auto& f : kFlags) names.emplace_back(f.name);
      std::string message = "unknown flag '" + name + "'";
      if (const auto guess = closest_match(name, names))
        message += "; did you mean '" + *guess + "'?";
      errors.push_back(message + " (see --help)");
      continue;
    }
    if (!flag->value_name) {
      if (value) {
        errors.push_back(name + " takes no value");
        continue;
      }
    } else if (!value) {
      if (i + 1 >= args.size()) {
        errors.push_back(name + ": missing value " + flag->value_name);
        continue;
      }
      value = args[++i];
    }

    if (name == "--help") {
      o.help = true;
    } else if (name == "--version") {
      o.version = true;
    } else if (name == "--print-config") {
      o.print_config = true;
    } else if (value->empty()) {
      errors.push_back(name + ": the value must not be empty");
    } else if (name == "--config") {
      config_flag = *value;
    } else if (name == "--check-config") {
      check_flag = *value;
    } else if (name == "--model") {
      o.model_path = *value;
    } else if (name == "--host") {
      o.host = *value;
    } else if (name == "--log-level") {
      static const std::vector<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                       "error", "critical", "off"};
      if (std::find(kLevels.begin(), kLevels.end(), *value) == kLevels.end()) {
        errors.push_back("--log-level: expected one of " + join(kLevels) + ", got '" + *value +
                         "'");
      } else {
        o.log_level = *value;
      }
    } else if (name == "--port") {
      const auto port = parse_int(*value);
      if (!port || *port < 1 || *port > 65535) {
        errors.push_back("--port: expected a port in 1..65535, got '" + *value + "'");
      } else {
        o.port = port;
      }
    } else if (name == "--threads") {
      const auto threads = parse_int(*value);
      if (!threads || *threads < 0) {
        errors.push_back("--threads: expected a whole number >= 0 (0 = all cores), got '" + *value +
                         "'");
      } else {
        o.threads = threads;
      }
    }
  }

  if (config_flag && check_flag && *config_flag != *check_flag) {
    errors.push_back("--config and --check-config name different files ('" + *config_flag +
                     "' and '" + *check_flag + "'); give one");
  }
  if (check_flag) {
    o.check_config = true;
    o.config_path = check_flag;
  } else if (config_flag) {
    o.config_path = config_flag;
  }
  return result;
}

CliParseResult parse_cli(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parse_cli(args);
}

std::string cli_help() {
  std::string out =
      "Usage: toolgate [--config FILE] [flags]\n"
      "An OpenAI-compatible chat server that runs GGUF models on the CPU.\n"
      "Without --config or --model it serves the default deployment (config/default.yaml).\n\n"
      "Flags:\n";
  for (const auto& f : kFlags) {
    std::string left = std::string("  ") + f.name;
    if (f.value_name) left += std::string(" ") + f.value_name;
    if (left.size() < 24)
      left.resize(24, ' ');
    else
      left += "  ";
    out += left + f.help + "\n";
  }
  out +=
      "\nFlags override the config file. Values may also be written --flag=value.\n"
      "Config keys are documented in config/README.md.\n"
      "\ntoolgate export --config FILE --out DIR [--model M] [--metadata k=v] [--since DATE]\n"
      "                [--validation 0.1]  writes stored completions as fine-tuning JSONL.\n"
      "toolgate merge-lora BASE.gguf ADAPTER.gguf OUT.gguf [--scale S] [--type keep|f16|f32]\n"
      "                folds a LoRA adapter into the model's weights.\n";
  return out;
}

Config apply_cli(Config config, const CliOptions& options) {
  if (options.model_path) {
    if (config.models.empty()) {
      ModelConfig model;
      std::string id = std::filesystem::path(*options.model_path).filename().string();
      for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (id.size() > 5 && id.ends_with(".gguf")) id.resize(id.size() - 5);
      model.id = id;
      model.path = *options.model_path;
      config.models.push_back(std::move(model));
    } else {
      config.models.front().path = *options.model_path;
      config.models.front().upstream.reset();
    }
  }
  if (options.host) config.server.host = *options.host;
  if (options.port) config.server.port = *options.port;
  if (options.log_level) config.logging.level = *options.log_level;
  if (options.threads) {
    config.engine.threads = *options.threads;
    for (auto& model : config.models) {
      if (model.engine) model.engine->threads = *options.threads;
    }
  }
  if (config.source.empty()) config.source = "<command line>";
  return config;
}

LoadResult resolve_config(const CliOptions& options, const ValidationContext& ctx) {
  Config base;
  if (options.config_path || !options.model_path) {
    const std::filesystem::path file =
        options.config_path ? std::filesystem::path(*options.config_path) : default_config_path();
    // --model replaces the first model's file, so that file need not exist; files are checked
    // after the override instead (validate_config below, without line numbers).
    ValidationContext file_ctx = ctx;
    if (options.model_path) file_ctx.check_files = false;
    LoadResult loaded = load_config_file(file, file_ctx);
    if (!loaded.ok()) return loaded;
    base = std::move(*loaded.config);
  }
  LoadResult result;
  Config effective = apply_cli(std::move(base), options);
  result.issues = validate_config(effective, ctx);
  if (result.issues.empty()) result.config = std::move(effective);
  return result;
}

}  // namespace toolgate::config
