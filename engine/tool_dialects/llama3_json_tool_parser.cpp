// Llama 3.1/3.2 JSON tool calls. The templates ask for {"name": ..., "parameters": {...}} as
// the whole reply; Llama 3.1 may put <|python_tag|> in front, and several calls may follow one
// another separated by whitespace or ';'. A reply that does not start with a call is content.
#include "engine/tool_dialects/char_parser.h"

namespace toolgate::engine::tool_dialects {
namespace {

constexpr std::string_view kPythonTag = "<|python_tag|>";

class Llama3JsonToolParser final : public CharParser {
  enum class State { Start, Content, AfterTag, CallJson, BetweenCalls };

  State state_ = State::Start;
  std::string pending_;  // held text: leading whitespace, a partial <|python_tag|>, separators
  std::string raw_;
  std::string json_;
  bool tagged_ = false;  // the current call came after <|python_tag|>
  JsonValueScanner scanner_;

  void start_json(char c) {
    scanner_.reset();
    scanner_.feed(c);
    json_ = c;
    raw_ += c;
    state_ = State::CallJson;
  }

  void step(char c, ParserOutput& out) override {
    switch (state_) {
      case State::Start:
      case State::BetweenCalls:
        if (is_json_space(c) || (state_ == State::BetweenCalls && c == ';')) {
          pending_ += c;
          return;
        }
        if (c == '{') {
          raw_ = pending_;
          pending_.clear();
          tagged_ = false;
          start_json(c);
          return;
        }
        state_ = State::Content;
        if (calls_emitted() > 0) pending_.clear();  // separators after a call are layout
        step(c, out);
        return;
      case State::Content:
        pending_ += c;
        if (pending_.size() >= kPythonTag.size() &&
            pending_.compare(pending_.size() - kPythonTag.size(), kPythonTag.size(), kPythonTag) == 0) {
          pending_.resize(pending_.size() - kPythonTag.size());
          out.content += pending_;
          pending_.clear();
          raw_ = kPythonTag;
          state_ = State::AfterTag;
          return;
        }
        {
          size_t n = pending_.size() - partial_marker_length(pending_, kPythonTag);
          out.content.append(pending_, 0, n);
          pending_.erase(0, n);
        }
        return;
      case State::AfterTag:
        if (is_json_space(c)) {
          raw_ += c;
          return;
        }
        if (c != '{') {
          // <|python_tag|> also introduces built-in tool code (brave_search.call(...)).
          fail("<|python_tag|> not followed by a JSON tool call", out);
          step(c, out);
          return;
        }
        tagged_ = true;
        start_json(c);
        return;
      case State::CallJson: {
        auto status = scanner_.feed(c);
        if (status == JsonValueScanner::Status::Invalid) {
          fail("malformed JSON tool call", out);
          step(c, out);
          return;
        }
        raw_ += c;
        json_ += c;
        if (status != JsonValueScanner::Status::Done) return;
        std::string why;
        if (auto call = parse_call(json_, &why)) {
          emit_call(*call, out);
          raw_.clear();
          state_ = State::BetweenCalls;
        } else if (!tagged_ && why != "tool call is not valid JSON") {
          // Valid JSON that is not a call (the user asked for JSON): ordinary content.
          out.content += raw_;
          raw_.clear();
          state_ = State::Content;
        } else {
          fail(why, out);
        }
        return;
      }
    }
  }

  void fail(const std::string& why, ParserOutput& out) {
    warn(why + "; passed through as content");
    out.content += raw_;
    raw_.clear();
    state_ = State::Content;
  }

  void end(ParserOutput& out) override {
    switch (state_) {
      case State::Start:
      case State::Content: out.content += pending_; break;
      case State::BetweenCalls: break;
      case State::AfterTag:
      case State::CallJson: fail("unterminated JSON tool call at end of generation", out); break;
    }
    pending_.clear();
  }
};

class Llama3JsonDialect final : public ToolDialect {
 public:
  std::string_view name() const override { return "llama3_json"; }
  std::unique_ptr<ToolCallParser> make_parser() const override { return std::make_unique<Llama3JsonToolParser>(); }
  std::string forced_call_prefix(const std::optional<std::string>& function_name) const override {
    if (!function_name) return "{\"name\": \"";
    return "{\"name\": " + json_quote(*function_name) + ", \"parameters\": ";
  }
  constrained::ToolCallFormat call_format() const override {
    constrained::ToolCallFormat f;
    f.arguments_key = "parameters";
    return f;
  }
};

}  // namespace

std::unique_ptr<ToolDialect> make_llama3_json_dialect() { return std::make_unique<Llama3JsonDialect>(); }

}  // namespace toolgate::engine::tool_dialects
