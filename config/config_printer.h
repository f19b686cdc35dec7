#pragma once
// Writes a Config back out as YAML: the effective configuration, every default filled in
// (`toolgate --print-config`). Loading the output gives an equal Config, except that masked
// secrets read back as "***".
#include <string>

#include "config/config.h"

namespace toolgate::config {

struct PrintOptions {
  // Replace server.api_keys and models[].upstream.api_key with "***". Plugin settings are
  // printed as they are: the printer cannot tell which of their fields are secret.
  bool mask_secrets = true;
};

std::string to_yaml(const Config& config, const PrintOptions& options = {});

}  // namespace toolgate::config
