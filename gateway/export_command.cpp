#include "gateway/export_command.h"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "config/config_loader.h"
#include "store/finetune_export.h"

namespace toolgate::gateway {
namespace {

constexpr const char* kUsage =
    "usage: toolgate export --config FILE [--model M] [--metadata k=v]... [--since DATE]\n"
    "                       --out DIR [--validation 0.1]\n"
    "Writes DIR/train.jsonl and DIR/valid.jsonl (OpenAI chat fine-tuning format) from the\n"
    "completions stored by the server that FILE configures. DATE: YYYY-MM-DD or unix seconds.\n";

std::optional<int64_t> parse_since(const std::string& s) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec == std::errc{} && p == s.data() + s.size()) return n;
  std::tm tm{};
  if (s.size() == 10 &&
      std::sscanf(s.c_str(), "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3) {
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm));
  }
  return std::nullopt;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "toolgate export: %s\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int run_export_command(int argc, char** argv) {
  std::string config_path;
  store::ExportOptions options;
  bool have_out = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (i + 1 >= argc) return usage_error("missing value after " + arg);
    std::string value = argv[++i];
    if (arg == "--config") {
      config_path = value;
    } else if (arg == "--model") {
      options.model = value;
    } else if (arg == "--metadata") {
      auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0) return usage_error("--metadata wants key=value");
      options.metadata[value.substr(0, eq)] = value.substr(eq + 1);
    } else if (arg == "--since") {
      options.since = parse_since(value);
      if (!options.since) return usage_error("--since wants YYYY-MM-DD or unix seconds");
    } else if (arg == "--out") {
      options.out_dir = value;
      have_out = true;
    } else if (arg == "--validation") {
      try {
        size_t used = 0;
        options.validation = std::stod(value, &used);
        if (used != value.size() || options.validation < 0 || options.validation > 1)
          throw std::invalid_argument("range");
      } catch (const std::exception&) {
        return usage_error("--validation wants a number from 0 to 1");
      }
    } else {
      return usage_error("unknown option " + arg);
    }
  }
  if (config_path.empty()) return usage_error("--config is required");
  if (!have_out) return usage_error("--out is required");
  config::LoadResult loaded = config::load_config_file(config_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error_text().c_str());
    return 2;
  }
  const auto& s = loaded.config->store;
  if (!s.enabled) {
    std::fprintf(stderr, "toolgate export: %s does not enable the store (store.enabled)\n",
                 config_path.c_str());
    return 2;
  }
  try {
    store::StoreOptions so;
    so.path = s.path;
    store::CompletionStore store(so);
    auto counts = store::export_finetune(store, options);
    std::printf("%zu train, %zu valid, %zu skipped (no assistant answer) -> %s\n", counts.train,
                counts.valid, counts.skipped, options.out_dir.string().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toolgate export: %s\n", e.what());
    return 1;
  }
}

}  // namespace toolgate::gateway
