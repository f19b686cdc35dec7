#include "gateway/local_models.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "gateway/engine_adapters.h"
#include "gateway/load_progress.h"

namespace toolgate::gateway {

engine::EngineOptions engine_options(const config::Config& c, const config::ModelConfig& m) {
  namespace eng = toolgate::engine;
  const config::EngineSettings& e = config::engine_settings_for(c, m);
  eng::EngineOptions o;
  o.threads = e.threads;
  o.kv_budget_bytes = e.kv_budget_bytes.value_or(0);
  o.kv_budget_fraction = e.kv_budget_fraction;
  o.block_size = e.block_size;
  o.kv_dtype = e.kv_dtype == "int8"   ? eng::KvDtype::Int8
               : e.kv_dtype == "int4" ? eng::KvDtype::Int4
                                      : eng::KvDtype::F16;
  o.max_num_seqs = e.max_num_seqs;
  o.max_tokens_per_step = e.max_tokens_per_step;
  o.prefix_caching = e.prefix_caching;
  o.kv_preallocate = e.kv_preallocate;
  o.context_length = m.context_length;
  o.max_waiting = std::max(o.max_waiting, c.server.max_queue + c.server.max_concurrent_requests);
  for (const auto& a : m.adapters)
    o.adapters.push_back({a.id, a.path, static_cast<float>(a.scale)});
  const std::string mode = config::speculative_mode(m);
  using Mode = eng::SpeculativeOptions::Mode;
  o.speculative.mode = mode == "ngram" ? Mode::Ngram : mode == "draft" ? Mode::Draft : Mode::Off;
  o.speculative.max_k = m.speculative.max_k;
  o.speculative.ngram_min = m.speculative.ngram_min;
  o.speculative.ngram_max = m.speculative.ngram_max;
  // The validator made sure `draft` names a local model of this config.
  for (const config::ModelConfig& d : c.models)
    if (!m.draft.empty() && d.id == m.draft) o.speculative.draft_model = d.path;
  return o;
}

SamplingDefaults sampling_defaults(const config::SamplingDefaults& s) {
  SamplingDefaults d;
  auto f = [](const std::optional<double>& v) {
    return v ? std::optional<float>(static_cast<float>(*v)) : std::nullopt;
  };
  d.temperature = f(s.temperature);
  d.top_p = f(s.top_p);
  d.min_p = f(s.min_p);
  d.repetition_penalty = f(s.repetition_penalty);
  d.presence_penalty = f(s.presence_penalty);
  d.frequency_penalty = f(s.frequency_penalty);
  d.top_k = s.top_k;
  d.max_tokens = s.max_tokens;
  return d;
}

LoadedEngine load_local_engine(const config::Config& config, const config::ModelConfig& m,
                               EngineReaper& reaper, std::FILE* progress, bool interactive) {
  spdlog::info("loading model '{}' from {}", m.id, m.path);
  const auto started = std::chrono::steady_clock::now();
  LoadedEngine loaded;
  // The files are identified before the load: a file replaced during it is seen as changed by
  // the next reload.
  loaded.spec = local_engine_spec(config, m);
  engine::EngineOptions options = engine_options(config, m);
  LoadProgressBar bar(m.id, progress, interactive);
  options.on_load_progress = [&bar](const engine::LoadProgress& p) { bar.update(p); };
  try {
    loaded.engine = reaper.adopt(engine::Engine::create(m.path, options));
  } catch (const std::exception& e) {
    if (m.draft.empty()) throw std::runtime_error("model '" + m.id + "': " + e.what());
    throw std::runtime_error("model '" + m.id + "' with draft model '" + m.draft +
                             "': " + e.what());
  }
  bar.finish();
  const auto& info = loaded.engine->model();
  const bool parsed = make_tool_call_syntax(*loaded.engine, m.tool_dialect.empty()
                                                                ? std::nullopt
                                                                : std::optional(m.tool_dialect)) !=
                      nullptr;
  spdlog::info("model '{}' ready in {:.1f} s: {} ({}, context {}, tool calls: {})", m.id,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
               info.name, info.architecture, info.context_length,
               !parsed                   ? "not parsed"
               : m.constrain_tool_calls ? "parsed, constrained"
                                        : "parsed");
  // Memory: weights are mapped from the file and read in at load (page cache, shared with
  // other processes mapping the same file); the KV arena is reserved up front.
  const auto st = loaded.engine->stats();
  spdlog::info("model '{}' memory: weights {:.0f} MiB ({:.1f} B params, mapped), KV cache "
               "{:.0f} MiB reserved ({} blocks)",
               m.id, static_cast<double>(info.weight_bytes) / (1 << 20),
               static_cast<double>(info.n_params) / 1e9,
               static_cast<double>(st.kv_bytes) / (1 << 20), st.kv_blocks_total);
  for (const auto& a : info.adapters)
    spdlog::info("model '{}:{}': LoRA adapter {} ({:.1f} MiB, scale {})", m.id, a.id, a.path,
                 static_cast<double>(a.bytes) / (1 << 20), a.scale);
  if (options.speculative.mode != engine::SpeculativeOptions::Mode::Off)
    spdlog::info("model '{}' speculative decoding: {}{} (up to {} tokens per step)", m.id,
                 config::speculative_mode(m), m.draft.empty() ? "" : " with '" + m.draft + "'",
                 options.speculative.max_k);
  return loaded;
}

std::vector<ServedModel> serve_local_model(const config::ModelConfig& m,
                                           const std::shared_ptr<engine::Engine>& engine,
                                           int64_t created) {
  ServedModel sm;
  sm.id = m.id;
  sm.aliases = m.aliases;
  sm.engine = engine.get();
  sm.engine_owner = engine;
  std::optional<std::string> template_override;
  if (!m.chat_template.empty()) template_override = m.chat_template;
  if (!m.chat_template_file.empty()) template_override = read_text_file(m.chat_template_file);
  const std::optional<std::string> dialect =
      m.tool_dialect.empty() ? std::nullopt : std::optional<std::string>(m.tool_dialect);
  sm.renderer = make_chat_template_renderer(*engine, template_override);
  sm.tool_syntax = make_tool_call_syntax(*engine, dialect);
  sm.constraints = make_reply_constraints(*engine, dialect);
  sm.constrain_tool_calls = m.constrain_tool_calls;
  sm.sampling = sampling_defaults(m.sampling);
  sm.server_tools = m.server_tools;
  sm.created = created;
  std::vector<ServedModel> served{sm};
  for (const auto& a : engine->model().adapters) {
    ServedModel am = sm;
    am.id = sm.id + ":" + a.id;
    am.aliases.clear();
    am.adapter = a.id;
    am.parent = sm.id;
    served.push_back(std::move(am));
  }
  return served;
}

}  // namespace toolgate::gateway
