#pragma once
// Internal to config/: typed reads from yaml-cpp nodes that report, rather than throw, every
// problem as a ConfigIssue with the node's line:column, and remember where each key was so that
// later checks on the plain structs can point back into the file.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config_issue.h"
#include "config/env_expansion.h"

namespace toolgate::config {

struct SourcePosition {
  int line = 0;  // 1-based
  int column = 0;
};
// Config path ("models[1].engine.block_size") → where its value is written.
using PositionMap = std::map<std::string, SourcePosition>;

std::string child_path(const std::string& parent, const std::string& key);
std::string index_path(const std::string& parent, size_t index);

// The known keys of one YAML mapping, each with its value node (first occurrence).
class YamlMapping {
 public:
  const YAML::Node* find(const std::string& key) const;
  const std::string& path() const { return path_; }

 private:
  friend class YamlReader;
  std::string path_;
  std::map<std::string, YAML::Node> values_;
};

class YamlReader {
 public:
  YamlReader(std::string file, EnvLookup env, std::vector<ConfigIssue>& issues,
             PositionMap& positions);

  void error(const YAML::Node& at, const std::string& path, std::string message);
  void error(SourcePosition at, const std::string& path, std::string message);
  SourcePosition position_of(const YAML::Node& node) const;

  // Reports a non-mapping (null counts as an empty mapping), duplicate keys and unknown keys
  // (with a "did you mean"), and records each key's position under path.key.
  std::optional<YamlMapping> mapping(const YAML::Node& node, const std::string& path,
                                     const std::vector<std::string>& allowed_keys);
  // The items of a list (null counts as empty), recording each item's position as path[i].
  std::optional<std::vector<YAML::Node>> list(const YAML::Node& node, const std::string& path);

  // Each reads m[key] if present into out, leaving out untouched on any error.
  // Strings have ${VAR} expanded unless expand is false; numbers and booleans too, so
  // `port: ${PORT}` works.
  void read(const YamlMapping& m, const std::string& key, std::string& out, bool expand = true);
  void read(const YamlMapping& m, const std::string& key, int& out);
  void read(const YamlMapping& m, const std::string& key, bool& out);
  void read(const YamlMapping& m, const std::string& key, std::optional<int>& out);
  void read(const YamlMapping& m, const std::string& key, std::optional<double>& out);
  void read(const YamlMapping& m, const std::string& key, double& out);
  void read(const YamlMapping& m, const std::string& key, std::vector<std::string>& out);
  void read_byte_size(const YamlMapping& m, const std::string& key, uint64_t& out);
  void read_byte_size(const YamlMapping& m, const std::string& key, std::optional<uint64_t>& out);
  // The mapping under m[key] as compact JSON text, ${VAR} expanded in its strings.
  void read_as_json(const YamlMapping& m, const std::string& key, std::string& out);

  const std::string& file() const { return file_; }

 private:
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path,
                                    const char* expected, bool expand);
  std::optional<std::string> json_of(const YAML::Node& node, const std::string& path);

  std::string file_;
  EnvLookup env_;
  std::vector<ConfigIssue>& issues_;
  PositionMap& positions_;
};

// "a mapping", "a list", "nothing (null)", "'text'".
std::string describe_node(const YAML::Node& node);

}  // namespace toolgate::config
