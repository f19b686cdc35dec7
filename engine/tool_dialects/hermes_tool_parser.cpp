// Hermes / Qwen tool calls: <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>,
// repeated for parallel calls. The JSON is followed structurally, so "</tool_call>" inside an
// argument string does not end the call.
//
// Qwen2.5-Coder, trained on the same template, often leaves the tags out and writes the call as
// a bare JSON object or in a ```json fence. Such a call is recognised where a tagged one could
// stand alone: at the start of the reply or right after a previous call (with only whitespace
// in between). Text there that starts with '{', '[' or '`' is therefore held back until it is
// known not to be a call; a fence or JSON later in the prose is always content.
#include "engine/tool_dialects/char_parser.h"
#include "engine/tool_dialects/untagged_json_call.h"

namespace toolgate::engine::tool_dialects {
namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

class HermesToolParser final : public CharParser {
  enum class State { Content, CallStart, CallJson, CallEnd, Untagged };

  State state_ = State::Content;
  bool at_lead_ = true;  // only whitespace since the start of the reply or the last call
  std::string pending_;  // undecided content: a partial "<tool_call>" or trailing whitespace
  std::string raw_;      // raw text of the current call, returned as content if it fails
  std::string json_;
  std::string close_;  // text after a call's JSON, expected to be (whitespace) "</tool_call>"
  JsonValueScanner scanner_;
  UntaggedJsonCall untagged_;

  void step(char c, ParserOutput& out) override {
    switch (state_) {
      case State::Content: {
        if (at_lead_ && UntaggedJsonCall::can_start(c) && only_space(pending_)) {
          raw_ = std::move(pending_);  // layout if a call follows, content otherwise
          pending_.clear();
          untagged_ = UntaggedJsonCall();
          state_ = State::Untagged;
          step(c, out);
          return;
        }
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
            at_lead_ = true;
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
      case State::Untagged:
        switch (untagged_.feed(c)) {
          case UntaggedJsonCall::Status::NeedMore: return;
          case UntaggedJsonCall::Status::Calls: accept_untagged(out); return;
          case UntaggedJsonCall::Status::NotACall: refuse_untagged(out); return;
        }
        return;
    }
  }

  static bool only_space(std::string_view s) {
    for (char c : s)
      if (!is_json_space(c)) return false;
    return true;
  }

  void accept_untagged(ParserOutput& out) {
    for (const auto& call : untagged_.calls()) emit_call(call, out);
    raw_.clear();
    state_ = State::Content;  // at_lead_ stays true: another call may follow
  }

  // Not a call after all: everything held goes through again as ordinary content (where a
  // <tool_call> tag in it is still recognised).
  void refuse_untagged(ParserOutput& out) {
    if (!untagged_.warning().empty()) warn(untagged_.warning() + "; passed through as content");
    std::string text = std::move(raw_) + untagged_.raw();
    raw_.clear();
    at_lead_ = false;
    state_ = State::Content;
    for (char r : text) step(r, out);
  }

  void release_content(ParserOutput& out) {
    size_t keep = partial_marker_length(pending_, kOpen);
    size_t n = pending_.size() - keep;
    while (n > 0 && is_json_space(pending_[n - 1])) --n;
    if (n > 0) at_lead_ = false;  // n > 0 means a non-space byte is released
    out.content.append(pending_, 0, n);
    pending_.erase(0, n);
  }

  void fail(const std::string& why, ParserOutput& out) {
    warn(why + "; passed through as content");
    out.content += raw_;
    raw_.clear();
    at_lead_ = false;
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
      case State::Untagged:
        if (untagged_.finish() == UntaggedJsonCall::Status::Calls) {
          accept_untagged(out);
        } else {
          refuse_untagged(out);
          end(out);  // the text fed again may itself hold an unterminated <tool_call>
        }
        break;
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
  constrained::ToolCallFormat call_format() const override {
    constrained::ToolCallFormat f;
    f.open_tag = std::string(kOpen);
    f.close_tag = std::string(kClose);
    f.bare_call_at_lead = true;  // Qwen2.5-Coder's untagged calls (see the top of this file)
    return f;
  }
};

}  // namespace

std::unique_ptr<ToolDialect> make_hermes_dialect() { return std::make_unique<HermesDialect>(); }

}  // namespace toolgate::engine::tool_dialects
