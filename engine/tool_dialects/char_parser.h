#pragma once
// Base for the dialect parsers: they consume generated text one byte at a time (which makes
// the result independent of how the text was split into pieces) and share the bookkeeping
// for emitted calls, warnings and held-back content.
#include <string>
#include <string_view>
#include <vector>

#include "engine/tool_dialect.h"
#include "engine/tool_dialects/json_call.h"

namespace toolgate::engine::tool_dialects {

class CharParser : public ToolCallParser {
 public:
  ParserOutput feed(std::string_view text) override {
    ParserOutput out;
    for (char c : text) step(c, out);
    return out;
  }
  ParserOutput finish() override {
    ParserOutput out;
    end(out);
    return out;
  }
  std::vector<std::string> warnings() const override { return warnings_; }

 protected:
  virtual void step(char c, ParserOutput& out) = 0;
  virtual void end(ParserOutput& out) = 0;

  void emit_call(const ParsedCall& call, ParserOutput& out) {
    out.tool_calls.push_back(ToolCallDelta{calls_emitted_++, "", call.name, call.arguments});
  }
  void warn(std::string w) { warnings_.push_back(std::move(w)); }
  int calls_emitted() const { return calls_emitted_; }

 private:
  int calls_emitted_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace toolgate::engine::tool_dialects
