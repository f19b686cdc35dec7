#pragma once
// Loads a YAML deployment config into a Config, collecting every problem at once (unknown keys
// with "did you mean", wrong types, out-of-range values, missing files, duplicate model names,
// unset ${ENV_VARS}, ...) as ConfigIssues with file:line:column. A config is returned only when
// there are no issues.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_issue.h"

namespace toolgate::config {

struct LoadResult {
  std::optional<Config> config;     // set iff issues is empty
  std::vector<ConfigIssue> issues;  // sorted by line, then column

  bool ok() const { return config.has_value(); }
  // Every issue's to_string(), one per line.
  std::string error_text() const;
};

// Relative paths in the file (models[].path, chat_template_file, tools.plugins[].path) are
// resolved against the file's directory and stored resolved (absolute).
LoadResult load_config_file(const std::filesystem::path& file, const ValidationContext& ctx = {});

// `name` labels the issues; its directory (if any) is the base for relative paths, otherwise
// they are kept relative (to the current directory).
LoadResult load_config_string(std::string_view yaml_text, const std::string& name = "<string>",
                              const ValidationContext& ctx = {});

// The semantic checks the loader runs after reading (ranges, enumerations, required keys,
// exactly one of path/upstream, duplicate model names, tool names, files), for a Config that
// was changed afterwards, e.g. by command-line flags. Issues carry no line numbers; their file
// is config.source.
std::vector<ConfigIssue> validate_config(const Config& config, const ValidationContext& ctx = {});

// Path of the embedded default deployment (config/default.yaml in the source tree).
std::filesystem::path default_config_path();

}  // namespace toolgate::config
