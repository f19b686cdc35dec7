#include "gateway/chat_response.h"

#include <random>

namespace toolgate::gateway {
namespace {

using nlohmann::json;

std::string random_alnum(size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string s(n, ' ');
  for (auto& c : s) c = kAlphabet[pick(rng)];
  return s;
}

json bytes_json(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

}  // namespace

std::string make_completion_id() { return "chatcmpl-" + random_alnum(29); }
std::string make_tool_call_id() { return "call_" + random_alnum(24); }
std::string make_request_id() { return "req_" + random_alnum(24); }

std::string dump_json(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json logprob_entry_json(const TokenLogprobEntry& e) {
  json top = json::array();
  for (const auto& t : e.top)
    top.push_back({{"token", t.token}, {"logprob", t.logprob}, {"bytes", bytes_json(t.token)}});
  return {{"token", e.token},
          {"logprob", e.logprob},
          {"bytes", bytes_json(e.token)},
          {"top_logprobs", std::move(top)}};
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", 0}}}};
}

json tool_run_json(const ToolRun& r) {
  return {{"id", r.id},
          {"type", "function"},
          {"function", {{"name", r.name}, {"arguments", r.arguments}}},
          {"ok", r.ok},
          {"output", r.output},
          {"round", r.round}};
}

json completion_json(const std::string& id, int64_t created, const std::string& model,
                     const std::vector<ChoiceResult>& choices, const Usage& usage) {
  json cs = json::array();
  for (const auto& c : choices) {
    json message = {{"role", "assistant"}};
    // With tool calls and no text, OpenAI sends content: null.
    message["content"] =
        (c.content.empty() && !c.tool_calls.empty()) ? json(nullptr) : json(c.content);
    message["refusal"] = nullptr;
    if (!c.tool_calls.empty()) {
      json calls = json::array();
      for (const auto& t : c.tool_calls)
        calls.push_back({{"id", t.id},
                         {"type", "function"},
                         {"function", {{"name", t.name}, {"arguments", t.arguments}}}});
      message["tool_calls"] = std::move(calls);
    }
    if (!c.tool_runs.empty()) {
      json runs = json::array();
      for (const auto& r : c.tool_runs) runs.push_back(tool_run_json(r));
      message["toolgate_tool_runs"] = std::move(runs);
    }
    json logprobs = nullptr;
    if (c.logprobs) {
      json content = json::array();
      for (const auto& e : *c.logprobs) content.push_back(logprob_entry_json(e));
      logprobs = {{"content", std::move(content)}, {"refusal", nullptr}};
    }
    cs.push_back({{"index", c.index},
                  {"message", std::move(message)},
                  {"logprobs", std::move(logprobs)},
                  {"finish_reason", c.finish_reason}});
  }
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"system_fingerprint", kSystemFingerprint},
          {"choices", std::move(cs)},
          {"usage", usage_json(usage)}};
}

json ChunkBuilder::base() const {
  json j = {{"id", id_},
            {"object", "chat.completion.chunk"},
            {"created", created_},
            {"model", model_},
            {"system_fingerprint", kSystemFingerprint}};
  return j;
}

json ChunkBuilder::choice(int index, json delta) const {
  json j = base();
  j["choices"] = json::array({{{"index", index},
                               {"delta", std::move(delta)},
                               {"logprobs", nullptr},
                               {"finish_reason", nullptr}}});
  if (include_usage_) j["usage"] = nullptr;
  return j;
}

json ChunkBuilder::role_chunk(int index) const {
  return choice(index, {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}});
}

json ChunkBuilder::content_chunk(int index, const std::string& content,
                                 const std::vector<TokenLogprobEntry>* logprobs) const {
  json j = choice(index, {{"content", content}});
  if (logprobs) {
    json lp = json::array();
    for (const auto& e : *logprobs) lp.push_back(logprob_entry_json(e));
    j["choices"][0]["logprobs"] = {{"content", std::move(lp)}, {"refusal", nullptr}};
  }
  return j;
}

json ChunkBuilder::tool_calls_chunk(int index, const std::vector<ToolCallDeltaOut>& calls) const {
  json arr = json::array();
  for (const auto& c : calls) {
    json d = {{"index", c.index}};
    json fn = {{"arguments", c.arguments}};
    if (c.id) {
      d["id"] = *c.id;
      d["type"] = "function";
    }
    if (c.name) fn["name"] = *c.name;
    d["function"] = std::move(fn);
    arr.push_back(std::move(d));
  }
  return choice(index, {{"tool_calls", std::move(arr)}});
}

json ChunkBuilder::tool_runs_chunk(int index, const std::vector<ToolRun>& runs) const {
  json j = choice(index, json::object());
  json arr = json::array();
  for (const auto& r : runs) arr.push_back(tool_run_json(r));
  j["choices"][0]["delta"]["toolgate_tool_runs"] = std::move(arr);
  return j;
}

json ChunkBuilder::finish_chunk(int index, const std::string& finish_reason) const {
  json j = choice(index, json::object());
  j["choices"][0]["finish_reason"] = finish_reason;
  return j;
}

json ChunkBuilder::usage_chunk(const Usage& usage) const {
  json j = base();
  j["choices"] = json::array();
  j["usage"] = usage_json(usage);
  return j;
}

}  // namespace toolgate::gateway
