#include "gateway/completions_output.h"

#include "gateway/api_error.h"
#include "gateway/chat_response.h"
#include "gateway/sse.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;

HttpResponse openai_error(const TranslatedError& e) {
  json err = {{"message", e.message},
              {"type", e.type.empty() ? "server_error" : e.type},
              {"param", e.param},
              {"code", e.code}};
  return json_response(e.status, dump_json({{"error", std::move(err)}}));
}

std::string legacy_id(const std::string& chat_id) {
  constexpr std::string_view kChat = "chatcmpl-";
  if (chat_id.rfind(kChat, 0) == 0) return "cmpl-" + chat_id.substr(kChat.size());
  return chat_id;
}

// OpenAI's legacy logprobs: parallel arrays, top alternatives as {token: logprob} objects, and
// each token's character offset in the returned text.
class LegacyLogprobs {
 public:
  void add(const json& entry, size_t& offset) {
    const std::string tok = entry.value("token", "");
    tokens_.push_back(tok);
    token_logprobs_.push_back(entry.value("logprob", 0.0));
    json top = json::object();
    if (entry.contains("top_logprobs"))
      for (const auto& t : entry["top_logprobs"]) top[t.value("token", "")] = t.value("logprob", 0.0);
    top_logprobs_.push_back(std::move(top));
    text_offset_.push_back(offset);
    offset += tok.size();
  }
  json to_json() const {
    return {{"tokens", tokens_},
            {"token_logprobs", token_logprobs_},
            {"top_logprobs", top_logprobs_},
            {"text_offset", text_offset_}};
  }

 private:
  json tokens_ = json::array(), token_logprobs_ = json::array(), top_logprobs_ = json::array(),
       text_offset_ = json::array();
};

class TextCompletionSink final : public ChatStreamTranslator {
 public:
  TextCompletionSink(std::shared_ptr<ResponseSink> out, TextCompletionOptions o)
      : ChatStreamTranslator(std::move(out), o.stream), o_(std::move(o)) {}

 private:
  const std::string& echo_of(int index) const {
    static const std::string kNone;
    const size_t prompt = static_cast<size_t>(index / std::max(o_.n, 1));
    return prompt < o_.echo.size() ? o_.echo[prompt] : kNone;
  }

  size_t& offset_of(int index) {
    if (static_cast<size_t>(index) >= offsets_.size()) {
      size_t old = offsets_.size();
      offsets_.resize(static_cast<size_t>(index) + 1);
      for (size_t i = old; i < offsets_.size(); ++i) offsets_[i] = echo_of(static_cast<int>(i)).size();
    }
    return offsets_[static_cast<size_t>(index)];
  }

  json chunk(json choices) const {
    return {{"id", legacy_id(completion_id())},
            {"object", "text_completion"},
            {"created", created()},
            {"model", o_.model},
            {"system_fingerprint", kSystemFingerprint},
            {"choices", std::move(choices)}};
  }

  std::string stream_content_type() const override { return "text/event-stream; charset=utf-8"; }

  std::string piece(int index, const std::string& text, const json& logprobs) override {
    std::string out;
    if (static_cast<size_t>(index) >= echoed_.size()) echoed_.resize(static_cast<size_t>(index) + 1);
    std::string body = text;
    if (!echoed_[static_cast<size_t>(index)]) {
      echoed_[static_cast<size_t>(index)] = true;
      body = echo_of(index) + body;
    }
    json lp = nullptr;
    if (o_.logprobs) {
      LegacyLogprobs l;
      for (const auto& e : logprobs) l.add(e, offset_of(index));
      lp = l.to_json();
    }
    return sse_event(chunk(json::array(
        {{{"index", index}, {"text", body}, {"logprobs", lp}, {"finish_reason", nullptr}}})));
  }

  std::string choice_finished(int index) override {
    std::string text;
    if (static_cast<size_t>(index) >= echoed_.size()) echoed_.resize(static_cast<size_t>(index) + 1);
    if (!echoed_[static_cast<size_t>(index)]) {
      echoed_[static_cast<size_t>(index)] = true;
      text = echo_of(index);
    }
    const auto& c = choices()[static_cast<size_t>(index)];
    return sse_event(chunk(json::array({{{"index", index},
                                          {"text", text},
                                          {"logprobs", nullptr},
                                          {"finish_reason", c.finish_reason.value_or("stop")}}})));
  }

  json usage_json_() const {
    Usage u{usage().prompt_tokens, usage().completion_tokens, usage().cached_tokens};
    return usage_json(u);
  }

  std::string stream_end() override {
    std::string out;
    if (o_.include_usage) {
      json j = chunk(json::array());
      j["usage"] = usage_json_();
      out += sse_event(j);
    }
    out += sse_done();
    return out;
  }

  std::string stream_error(const TranslatedError& e) override {
    return sse_event(json::parse(openai_error(e).body)) + std::string(sse_done());
  }

  HttpResponse whole_response() override {
    json cs = json::array();
    for (size_t i = 0; i < choices().size(); ++i) {
      const auto& c = choices()[i];
      const int index = static_cast<int>(i);
      json lp = nullptr;
      if (o_.logprobs) {
        LegacyLogprobs l;
        size_t offset = echo_of(index).size();
        for (const auto& e : c.logprobs) l.add(e, offset);
        lp = l.to_json();
      }
      cs.push_back({{"index", index},
                    {"text", echo_of(index) + c.content},
                    {"logprobs", lp},
                    {"finish_reason", c.finish_reason.value_or("stop")}});
    }
    json j = chunk(std::move(cs));
    j["usage"] = usage_json_();
    return json_response(200, dump_json(j));
  }

  HttpResponse error_response(const TranslatedError& e) override { return openai_error(e); }

  TextCompletionOptions o_;
  std::vector<size_t> offsets_;
  std::vector<bool> echoed_;
};

// llama.cpp's /completion answer shape (what /infill returns and llama.vscode reads).
class InfillSink final : public ChatStreamTranslator {
 public:
  InfillSink(std::shared_ptr<ResponseSink> out, InfillOptions o)
      : ChatStreamTranslator(std::move(out), o.stream), o_(std::move(o)) {}

 private:
  json final_fields() const {
    const auto& c = choices().empty() ? TranslatedChoice{} : choices()[0];
    const auto& u = usage();
    const auto start = started_at();
    const auto first = first_token_at().value_or(ended_at());
    const double prompt_ms = ms_between(start, first);
    const double predicted_ms = ms_between(first, ended_at());
    const int prompt_n = u.prompt_tokens - u.cached_tokens;
    const bool limit = c.finish_reason && *c.finish_reason == "length";
    return {{"model", o_.model},
            {"stop", true},
            {"stop_type", limit ? "limit" : "eos"},
            {"stopping_word", ""},
            {"tokens_predicted", u.completion_tokens},
            {"tokens_evaluated", u.prompt_tokens},
            {"tokens_cached", u.cached_tokens},
            {"truncated", false},
            {"has_new_line", c.content.find('\n') != std::string::npos},
            {"timings",
             {{"cache_n", u.cached_tokens},
              {"prompt_n", prompt_n},
              {"prompt_ms", prompt_ms},
              {"prompt_per_token_ms", prompt_n > 0 ? prompt_ms / prompt_n : 0.0},
              {"prompt_per_second", prompt_ms > 0 ? prompt_n * 1e3 / prompt_ms : 0.0},
              {"predicted_n", u.completion_tokens},
              {"predicted_ms", predicted_ms},
              {"predicted_per_token_ms",
               u.completion_tokens > 0 ? predicted_ms / u.completion_tokens : 0.0},
              {"predicted_per_second",
               predicted_ms > 0 ? u.completion_tokens * 1e3 / predicted_ms : 0.0}}}};
  }

  std::string stream_content_type() const override { return "text/event-stream; charset=utf-8"; }

  std::string piece(int index, const std::string& text, const json&) override {
    if (index != 0 || text.empty()) return "";
    return sse_event({{"index", 0}, {"content", text}, {"tokens", json::array()}, {"stop", false}});
  }
  std::string choice_finished(int) override { return ""; }
  std::string stream_end() override {
    json j = final_fields();
    j["index"] = 0;
    j["content"] = "";
    j["tokens"] = json::array();
    return sse_event(j);
  }
  std::string stream_error(const TranslatedError& e) override {
    return sse_event({{"error", {{"code", e.status}, {"message", e.message}, {"type", e.type}}}});
  }
  HttpResponse whole_response() override {
    json j = final_fields();
    j["index"] = 0;
    j["content"] = choices().empty() ? "" : choices()[0].content;
    j["tokens"] = json::array();
    return json_response(200, dump_json(j));
  }
  HttpResponse error_response(const TranslatedError& e) override {
    // llama.cpp: {"error":{"code","message","type"}}
    return json_response(
        e.status, dump_json({{"error", {{"code", e.status}, {"message", e.message}, {"type", e.type}}}}));
  }

  InfillOptions o_;
};

}  // namespace

std::shared_ptr<ResponseSink> make_text_completion_sink(std::shared_ptr<ResponseSink> out,
                                                        TextCompletionOptions options) {
  return std::make_shared<TextCompletionSink>(std::move(out), std::move(options));
}

std::shared_ptr<ResponseSink> make_infill_sink(std::shared_ptr<ResponseSink> out,
                                               InfillOptions options) {
  return std::make_shared<InfillSink>(std::move(out), std::move(options));
}

}  // namespace toolgate::gateway
