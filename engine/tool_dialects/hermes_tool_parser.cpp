// Hermes / Qwen tool calls: <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>,
// repeated for parallel calls. The JSON is followed structurally, so "</tool_call>" inside an
// argument string does not end the call.
#include "engine/tool_dialects/char_parser.h"

namespace toolgate::engine::tool_dialects {
namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

class HermesToolParser final : public CharParser {
  enum class State { Content, CallStart, CallJson, CallEnd };

  State state_ = State::Content;
  std::string pending_;  // undecided content: a partial "<tool_call>" or trailing whitespace
  std::string raw_;      // raw text of the current call, returned as content if it fails
  std::string json_;
  std::string close_;  // text after a call's JSON, expected to be (whitespace) "</tool_call>"
  JsonValueScanner scanner_;

  void step(char c, ParserOutput& out) override {
    switch (state_) {
      case State::Content: {
        pending_ += c;
        if (pending_.size() >= kOpen.size() && pending_.compare(pending_.size() - kOpen.size(), kOpen.size(), kOpen) == 0) {
          pending_.resize(pending_.size() - kOpen.size());
          // Whitespace between content (or a previous call) and a call is layout, not content
          // (but it goes back into the content if the call fails).
          size_t n = pending_.size();
          while (n > 0 && is_json_space(pending_[n - 1])) --n;
          out.content.append(pending_, 0, n);
          raw_ = pending_.substr(n);
          raw_ += kOpen;
          pending_.clear();
          state_ = State::CallStart;
          return;
        }
        release_content(out);
        return;
      }
      case State::CallStart:
        if (is_json_space(c)) {
          raw_ += c;
          return;
        }
        if (c != '{') {
          fail("expected a JSON object after <tool_call>", out);
          step(c, out);
          return;
        }
        scanner_.reset();
        scanner_.feed(c);
        json_ = c;
        raw_ += c;
        state_ = State::CallJson;
        return;
      case State::CallJson: {
        auto status = scanner_.feed(c);
        if (status == JsonValueScanner::Status::Invalid) {
          fail("malformed JSON in <tool_call>", out);
          step(c, out);
          return;
        }
        raw_ += c;
        json_ += c;
        if (status == JsonValueScanner::Status::Done) {
          std::string why;
          if (auto call = parse_call(json_, &why)) {
            emit_call(*call, out);
            close_.clear();
            state_ = State::CallEnd;
          } else {
            fail(why, out);
          }
        }
        return;
      }
      case State::CallEnd: {
        close_ += c;
        size_t ws = 0;
        while (ws < close_.size() && is_json_space(close_[ws])) ++ws;
        std::string_view tag = std::string_view(close_).substr(ws);
        if (tag.size() <= kClose.size() && kClose.substr(0, tag.size()) == tag) {
          if (tag.size() == kClose.size()) state_ = State::Content;
          return;
        }
        // The model went on without closing the tag: keep the call, treat the rest as content.
        warn("tool call not closed with </tool_call>");
        std::string rest = close_.substr(ws);
        state_ = State::Content;
        for (char r : rest) step(r, out);
        return;
      }
    }
  }

  void release_content(ParserOutput& out) {
    size_t keep = partial_marker_length(pending_, kOpen);
    size_t n = pending_.size() - keep;
    while (n > 0 && is_json_space(pending_[n - 1])) --n;
    out.content.append(pending_, 0, n);
    pending_.erase(0, n);
  }

  void fail(const std::string& why, ParserOutput& out) {
    warn(why + "; passed through as content");
    out.content += raw_;
    raw_.clear();
    state_ = State::Content;
  }

  void end(ParserOutput& out) override {
    switch (state_) {
      case State::Content:
        // Trailing whitespace after the last call is layout; otherwise it is the model's text.
        if (calls_emitted() > 0) {
          size_t n = pending_.size();
          while (n > 0 && is_json_space(pending_[n - 1])) --n;
          pending_.resize(n);
        }
        out.content += pending_;
        pending_.clear();
        break;
      case State::CallStart:
      case State::CallJson: fail("unterminated <tool_call> at end of generation", out); break;
      case State::CallEnd: state_ = State::Content; break;  // closing tag cut off: the call stands
    }
  }
};

class HermesDialect final : public ToolDialect {
 public:
  std::string_view name() const override { return "hermes"; }
  std::unique_ptr<ToolCallParser> make_parser() const override { return std::make_unique<HermesToolParser>(); }
  std::string forced_call_prefix(const std::optional<std::string>& function_name) const override {
    if (!function_name) return "<tool_call>\n{\"name\": \"";
    return "<tool_call>\n{\"name\": " + json_quote(*function_name) + ", \"arguments\": ";
  }
};

}  // namespace

std::unique_ptr<ToolDialect> make_hermes_dialect() { return std::make_unique<HermesDialect>(); }

}  // namespace toolgate::engine::tool_dialects
