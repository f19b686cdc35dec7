#pragma once
// Rebuilds the chat.completion object a streamed request would have returned, from the
// chat.completion.chunk events as they were sent: content and tool-call deltas concatenated
// per choice, `toolgate_tool_runs` collected, finish reasons and usage taken as they come.
// Used to store streamed completions exactly like non-streamed ones.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace toolgate::gateway {

class CompletionAssembler {
 public:
  // One parsed `data:` payload. An error object marks the stream as failed.
  void add_chunk(const nlohmann::json& chunk);
  bool failed() const { return failed_; }
  bool empty() const { return id_.empty(); }
  // The assembled chat.completion (usage null when the stream carried none).
  nlohmann::json completion() const;

 private:
  struct ToolCallParts {
    std::string id, type = "function", name, arguments;
  };
  struct Choice {
    std::string role = "assistant";
    std::optional<std::string> content;
    std::map<int, ToolCallParts> tool_calls;  // by delta index
    nlohmann::json tool_runs = nlohmann::json::array();
    nlohmann::json finish_reason;  // null until a chunk sets it
  };
  std::string id_, model_, system_fingerprint_;
  int64_t created_ = 0;
  std::map<int, Choice> choices_;
  nlohmann::json usage_;
  bool failed_ = false;
};

}  // namespace toolgate::gateway
