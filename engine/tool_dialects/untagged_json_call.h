#pragma once
// A tool call written without the dialect's markup: a bare JSON call object (or an array of
// them), optionally inside a ```json fence. Models fine-tuned for code, Qwen2.5-Coder among
// them, often answer a tool prompt that way instead of with <tool_call> tags. A dialect parser
// hands this matcher the text that starts where such a call may start (the beginning of the
// reply, or right after a previous call) and asks it, byte by byte, whether it is one.
#include <string>
#include <vector>

#include "engine/tool_dialects/json_call.h"

namespace toolgate::engine::tool_dialects {

class UntaggedJsonCall {
 public:
  enum class Status { NeedMore, Calls, NotACall };

  // True for the bytes that can open an untagged call: '{', '[' or the '`' of a fence.
  static bool can_start(char c) { return c == '{' || c == '[' || c == '`'; }

  // Feed bytes until the result is Calls or NotACall; feed nothing after that.
  Status feed(char c);
  // End of generation while NeedMore: a complete call whose closing fence was cut off stands;
  // anything else is NotACall.
  Status finish();

  const std::vector<ParsedCall>& calls() const { return calls_; }
  const std::string& raw() const { return raw_; }  // every byte fed, for passing back as content
  // Why the text was refused when it had looked like a call (empty when it never did).
  const std::string& warning() const { return warning_; }

 private:
  enum class State { Start, FenceOpen, FenceBody, Json, FenceClose };

  Status start_json(char c);
  Status complete();
  // Only text that names a function is worth a warning when it fails; other braces are prose.
  bool looks_like_call() const { return json_.find("\"name\"") != std::string::npos; }

  State state_ = State::Start;
  bool fenced_ = false;
  std::string raw_;
  std::string json_;
  std::string tail_;  // after the JSON inside a fence: whitespace and the closing ```
  JsonValueScanner scanner_;
  std::vector<ParsedCall> calls_;
  std::string warning_;
};

}  // namespace toolgate::engine::tool_dialects
