#pragma once
// Builders for the response bodies of /v1/chat/completions, exactly in the OpenAI shapes:
// `chat.completion` objects and `chat.completion.chunk` objects for streaming.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gateway/chat_request.h"

namespace toolgate::gateway {

std::string make_completion_id();  // "chatcmpl-" + 29 random alphanumerics
std::string make_tool_call_id();   // "call_" + 24 random alphanumerics
std::string make_request_id();     // "req_" + 24 random alphanumerics
inline constexpr const char* kSystemFingerprint = "fp_toolgate";

struct TopLogprob {
  std::string token;  // raw bytes (may be part of a UTF-8 character)
  float logprob = 0.0f;
};

struct TokenLogprobEntry {
  std::string token;
  float logprob = 0.0f;
  std::vector<TopLogprob> top;
};

// {"token", "logprob", "bytes", "top_logprobs"}; invalid UTF-8 in token becomes U+FFFD while
// "bytes" keeps the exact bytes, as in the OpenAI API.
nlohmann::json logprob_entry_json(const TokenLogprobEntry& entry);

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;
};
nlohmann::json usage_json(const Usage& usage);

// One executed server tool call (extension field `toolgate_tool_runs`).
struct ToolRun {
  std::string id;
  std::string name;
  std::string arguments;
  bool ok = false;
  std::string output;  // the tool message content the model saw
  int round = 0;       // 1 = first tool round
};
nlohmann::json tool_run_json(const ToolRun& run);

struct ChoiceResult {
  int index = 0;
  std::string content;
  std::vector<ToolCall> tool_calls;
  std::vector<ToolRun> tool_runs;
  std::optional<std::vector<TokenLogprobEntry>> logprobs;  // set when logprobs were requested
  std::string finish_reason = "stop";
};

nlohmann::json completion_json(const std::string& id, int64_t created, const std::string& model,
                               const std::vector<ChoiceResult>& choices, const Usage& usage);

// A tool-call delta as streamed: the first delta of a call has id, type and name.
struct ToolCallDeltaOut {
  int index = 0;
  std::optional<std::string> id;
  std::optional<std::string> name;
  std::string arguments;
};

class ChunkBuilder {
 public:
  ChunkBuilder(std::string id, int64_t created, std::string model, bool include_usage)
      : id_(std::move(id)),
        created_(created),
        model_(std::move(model)),
        include_usage_(include_usage) {}

  // {"role":"assistant","content":""}
  nlohmann::json role_chunk(int index) const;
  nlohmann::json content_chunk(int index, const std::string& content,
                               const std::vector<TokenLogprobEntry>* logprobs) const;
  nlohmann::json tool_calls_chunk(int index, const std::vector<ToolCallDeltaOut>& calls) const;
  nlohmann::json tool_runs_chunk(int index, const std::vector<ToolRun>& runs) const;
  nlohmann::json finish_chunk(int index, const std::string& finish_reason) const;
  // choices: [] and the usage of the whole request (stream_options.include_usage).
  nlohmann::json usage_chunk(const Usage& usage) const;

 private:
  nlohmann::json base() const;
  nlohmann::json choice(int index, nlohmann::json delta) const;

  std::string id_;
  int64_t created_;
  std::string model_;
  bool include_usage_;
};

// JSON text for the wire: never throws on invalid UTF-8 (replaced by U+FFFD).
std::string dump_json(const nlohmann::json& j);

}  // namespace toolgate::gateway
