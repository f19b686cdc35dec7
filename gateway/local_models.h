#pragma once
// Local (engine-served) models, from config to served: the engine options a model's config
// asks for, loading its engine (seconds for a GGUF: never on an I/O thread), and the served
// models (the base model and one per LoRA adapter) on a loaded engine. Used at start-up and by
// live reload (config_reload.h), which keeps an unchanged model's engine and only re-serves it.
#include <cstdio>
#include <memory>
#include <vector>

#include "config/config.h"
#include "engine/engine.h"
#include "gateway/config_reload.h"
#include "gateway/engine_reaper.h"
#include "gateway/options.h"

namespace toolgate::gateway {

engine::EngineOptions engine_options(const config::Config& config,
                                     const config::ModelConfig& model);
SamplingDefaults sampling_defaults(const config::SamplingDefaults& s);

struct LoadedEngine {
  std::shared_ptr<engine::Engine> engine;  // owned through `reaper`
  LocalEngineSpec spec;                    // what it was loaded from (files as they were)
};

// Loads `model`'s engine, logging its size and memory; a progress bar on `progress` when
// `interactive`. Throws std::runtime_error naming the model when the load fails.
LoadedEngine load_local_engine(const config::Config& config, const config::ModelConfig& model,
                               EngineReaper& reaper, std::FILE* progress, bool interactive);

// The served models on `engine` for `model`'s current settings (template, tool dialect,
// sampling, server tools, aliases): the base model first, then "<id>:<adapter>" per adapter.
// Throws when an override cannot be read (chat_template_file).
std::vector<ServedModel> serve_local_model(const config::ModelConfig& model,
                                           const std::shared_ptr<engine::Engine>& engine,
                                           int64_t created);

}  // namespace toolgate::gateway
