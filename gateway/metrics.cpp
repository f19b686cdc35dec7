#include "gateway/metrics.h"

#include <cstdio>

namespace toolgate::gateway {
namespace {

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

template <class F>
void per_model(std::string& out, const std::vector<ModelEngineStats>& engines,
               const std::string& name, const char* type, const char* help, F value) {
  header(out, name, type, help);
  for (const auto& e : engines)
    out += name + "{model_name=\"" + prometheus_label(e.model) + "\"} " + value(e.stats) + "\n";
}

}  // namespace

std::string prometheus_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  std::lock_guard lock(mu_);
  ++buckets_[i];
  sum_ += value;
  ++count_;
}

uint64_t Histogram::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  std::vector<uint64_t> buckets;
  double sum;
  uint64_t count;
  {
    std::lock_guard lock(mu_);
    buckets = buckets_;
    sum = sum_;
    count = count_;
  }
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets[i];
    out += name + "_bucket{le=\"" + format_double(bounds_[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
  out += name + "_sum " + format_double(sum) + "\n";
  out += name + "_count " + std::to_string(count) + "\n";
}

// Bucket bounds are vLLM's, so dashboards built for vLLM read these unchanged.
Metrics::Metrics()
    : ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
             1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}),
      itl_({0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
            20.0, 40.0, 80.0}),
      e2e_({0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
            30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}) {}

void Metrics::count_http_response(int status) {
  std::lock_guard lock(mu_);
  ++http_by_status_[status];
}

uint64_t Metrics::http_responses(int status) const {
  std::lock_guard lock(mu_);
  auto it = http_by_status_.find(status);
  return it == http_by_status_.end() ? 0 : it->second;
}

std::string Metrics::render(const std::vector<ModelEngineStats>& engines, int gateway_running,
                            int gateway_waiting) const {
  using S = engine::EngineStats;
  std::string out;
  out.reserve(8192);
  per_model(out, engines, "toolgate:num_requests_running", "gauge",
            "Number of sequences in the engine's running batch.",
            [](const S& s) { return std::to_string(s.running); });
  per_model(out, engines, "toolgate:num_requests_waiting", "gauge",
            "Number of sequences waiting in the engine's queue.",
            [](const S& s) { return std::to_string(s.waiting); });
  per_model(out, engines, "toolgate:kv_cache_usage_perc", "gauge",
            "Fraction of KV cache blocks in use (1 = full).", [](const S& s) {
              return format_double(
                  s.kv_blocks_total > 0 ? double(s.kv_blocks_used) / s.kv_blocks_total : 0.0);
            });
  per_model(out, engines, "toolgate:kv_blocks_used", "gauge", "KV cache blocks in use.",
            [](const S& s) { return std::to_string(s.kv_blocks_used); });
  per_model(out, engines, "toolgate:kv_blocks_total", "gauge", "KV cache blocks in the pool.",
            [](const S& s) { return std::to_string(s.kv_blocks_total); });
  per_model(out, engines, "toolgate:kv_blocks_cached", "gauge",
            "Free KV cache blocks holding a reusable prompt prefix.",
            [](const S& s) { return std::to_string(s.kv_blocks_cached); });
  per_model(out, engines, "toolgate:prefix_cache_queries_total", "counter",
            "Prompt tokens looked up in the prefix cache.",
            [](const S& s) { return std::to_string(s.prefix_cache_queries); });
  per_model(out, engines, "toolgate:prefix_cache_hits_total", "counter",
            "Prompt tokens served from the prefix cache.",
            [](const S& s) { return std::to_string(s.prefix_cache_hits); });
  per_model(out, engines, "toolgate:prompt_tokens_total", "counter", "Prompt tokens processed.",
            [](const S& s) { return std::to_string(s.prompt_tokens_total); });
  per_model(out, engines, "toolgate:generation_tokens_total", "counter", "Tokens generated.",
            [](const S& s) { return std::to_string(s.generation_tokens_total); });
  per_model(out, engines, "toolgate:preemptions_total", "counter",
            "Sequences preempted (recomputed) because the KV cache ran out.",
            [](const S& s) { return std::to_string(s.preemptions); });
  per_model(out, engines, "toolgate:spec_proposed_tokens_total", "counter",
            "Speculative decoding: proposed tokens the model verified.",
            [](const S& s) { return std::to_string(s.spec_proposed_total); });
  per_model(out, engines, "toolgate:spec_accepted_tokens_total", "counter",
            "Speculative decoding: proposed tokens the model accepted.",
            [](const S& s) { return std::to_string(s.spec_accepted_total); });

  header(out, "toolgate:gateway_requests_running", "gauge",
         "Chat completions admitted by the gateway and not yet finished.");
  out += "toolgate:gateway_requests_running " + std::to_string(gateway_running) + "\n";
  header(out, "toolgate:gateway_requests_waiting", "gauge",
         "Chat completions queued by the gateway for a free slot.");
  out += "toolgate:gateway_requests_waiting " + std::to_string(gateway_waiting) + "\n";

  ttft_.render(out, "toolgate:time_to_first_token_seconds",
               "Time from request arrival to the first generated token.");
  itl_.render(out, "toolgate:inter_token_latency_seconds",
              "Time between consecutive generated tokens of a sequence.");
  e2e_.render(out, "toolgate:e2e_request_latency_seconds",
              "Time from request arrival to the end of its response.");

  header(out, "toolgate:http_requests_total", "counter", "HTTP responses by status code.");
  {
    std::lock_guard lock(mu_);
    for (const auto& [status, n] : http_by_status_)
      out += "toolgate:http_requests_total{status=\"" + std::to_string(status) + "\"} " +
             std::to_string(n) + "\n";
  }
  header(out, "toolgate:tool_runs_total", "counter", "Server tool calls executed by outcome.");
  out += "toolgate:tool_runs_total{outcome=\"ok\"} " + std::to_string(tool_runs_ok_.load()) + "\n";
  out += "toolgate:tool_runs_total{outcome=\"error\"} " + std::to_string(tool_runs_failed_.load()) +
         "\n";
  header(out, "toolgate:client_disconnects_total", "counter",
         "Requests whose client went away before the response ended (generation cancelled).");
  out += "toolgate:client_disconnects_total " + std::to_string(client_disconnects_.load()) + "\n";
  return out;
}

}  // namespace toolgate::gateway
