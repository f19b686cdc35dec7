#include "gateway/ollama_output.h"

#include <chrono>
#include <ctime>

#include "gateway/chat_response.h"

namespace toolgate::gateway {
namespace {

// Ollama's key order (model, created_at, message, done, ...), as its clients print it.
using json = nlohmann::ordered_json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string format_time(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09lldZ", buf, static_cast<long long>(nanos));
  return out;
}

// Ollama carries tool-call arguments as an object.
json ollama_tool_calls(const nlohmann::json& calls) {
  json out = json::array();
  int index = 0;
  for (const auto& c : calls) {
    const std::string args = c["function"].value("arguments", "");
    json parsed = json::parse(args.empty() ? "{}" : args, nullptr, false);
    out.push_back({{"function",
                    {{"index", index++},
                     {"name", c["function"].value("name", "")},
                     {"arguments", parsed.is_discarded() ? json(args) : parsed}}}});
  }
  return out;
}

class OllamaSink final : public ChatStreamTranslator {
 public:
  OllamaSink(std::shared_ptr<ResponseSink> out, OllamaOutputOptions o)
      : ChatStreamTranslator(std::move(out), o.stream), o_(std::move(o)) {}

 private:
  json line(const std::string& text) const {
    json j = {{"model", o_.model}, {"created_at", ollama_timestamp_now()}};
    if (o_.generate)
      j["response"] = text;
    else
      j["message"] = {{"role", "assistant"}, {"content", text}};
    return j;
  }

  json final_line(bool whole) const {
    const TranslatedChoice empty;
    const auto& c = choices().empty() ? empty : choices()[0];
    json j = line(whole ? c.content : "");
    if (!o_.generate && !c.tool_calls.empty() && whole)
      j["message"]["tool_calls"] = ollama_tool_calls(c.tool_calls);
    if (!o_.generate && !c.tool_runs.empty() && whole)
      j["message"]["toolgate_tool_runs"] = json::parse(c.tool_runs.dump());
    j["done"] = true;
    j["done_reason"] = c.finish_reason == std::optional<std::string>("length") ? "length" : "stop";
    const auto start = started_at();
    const auto end = ended_at();
    const auto first = first_token_at().value_or(end);
    const auto& u = usage();
    // The model is resident (loaded at start-up), so no request pays a load.
    j["total_duration"] = ns_between(start, end);
    j["load_duration"] = 0;
    j["prompt_eval_count"] = u.prompt_tokens;
    j["prompt_eval_duration"] = ns_between(start, first);
    j["eval_count"] = u.completion_tokens;
    j["eval_duration"] = ns_between(first, end);
    return j;
  }

  static std::string ndjson(const json& j) { return dump(j) + "\n"; }

  std::string stream_content_type() const override { return "application/x-ndjson"; }
  std::string piece(int index, const std::string& text, const nlohmann::json&) override {
    if (index != 0 || text.empty()) return "";
    json j = line(text);
    j["done"] = false;
    return ndjson(j);
  }
  std::string choice_finished(int index) override {
    if (index != 0 || o_.generate || choices().empty()) return "";
    const auto& c = choices()[0];
    if (c.tool_calls.empty() && c.tool_runs.empty()) return "";
    // Ollama streams a call whole, in a message of its own before the final line.
    json j = line("");
    if (!c.tool_calls.empty()) j["message"]["tool_calls"] = ollama_tool_calls(c.tool_calls);
    if (!c.tool_runs.empty()) j["message"]["toolgate_tool_runs"] = json::parse(c.tool_runs.dump());
    j["done"] = false;
    return ndjson(j);
  }
  std::string stream_end() override { return ndjson(final_line(false)); }
  std::string stream_error(const TranslatedError& e) override {
    return ndjson({{"error", e.message}});
  }
  HttpResponse whole_response() override { return json_response(200, dump(final_line(true))); }
  HttpResponse error_response(const TranslatedError& e) override {
    return ollama_error(e.status, e.message);
  }

  OllamaOutputOptions o_;
};

}  // namespace

std::shared_ptr<ResponseSink> make_ollama_sink(std::shared_ptr<ResponseSink> out,
                                               OllamaOutputOptions options) {
  return std::make_shared<OllamaSink>(std::move(out), std::move(options));
}

HttpResponse ollama_error(int status, const std::string& message) {
  return json_response(status, dump(json{{"error", message}}));
}

std::string ollama_timestamp_now() { return format_time(std::chrono::system_clock::now()); }

std::string ollama_timestamp(int64_t unix_seconds) {
  return format_time(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

}  // namespace toolgate::gateway
