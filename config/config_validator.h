#pragma once
// Internal to config/: the checks that run on the plain structs after YAML has been read
// (ranges, enumerations, cross-field rules, files). `positions`, when given, points issues back
// into the file; per-model engine keys are then checked only where the file sets them, so a bad
// global value is reported once rather than again for every model that inherits it.
#include <vector>

#include "config/config.h"
#include "config/config_issue.h"
#include "config/yaml_reader.h"

namespace toolgate::config {

void check_config(const Config& config, const ValidationContext& ctx, const PositionMap* positions,
                  std::vector<ConfigIssue>& issues);

}  // namespace toolgate::config
