#pragma once
// Turns a config model with `upstream:` into the ServedModel the server answers for.
#include <stdexcept>

#include "config/config.h"
#include "gateway/options.h"

namespace toolgate::gateway {

// Throws std::runtime_error, naming the model, for a base_url it cannot parse or TLS settings
// it cannot load. `server_tools` are carried over: the gateway runs them around the upstream's
// rounds.
ServedModel make_upstream_served_model(const config::ModelConfig& model, SamplingDefaults sampling,
                                       int64_t created);

}  // namespace toolgate::gateway
