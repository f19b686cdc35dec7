// Fallback for models without a native tool-call format: the whole reply is a JSON call
// object {"name": ..., "arguments": {...}} (or an array of them), optionally in a ```json
// fence. Anything else is content, released without delay.
#include "engine/tool_dialects/char_parser.h"

#include <nlohmann/json.hpp>

namespace toolgate::engine::tool_dialects {
namespace {

constexpr std::string_view kFence = "```";

class GenericToolParser final : public CharParser {
  enum class State { Start, FenceOpen, FenceBody, Json, FenceClose, After, Content };

  State state_ = State::Start;
  std::string raw_;  // everything since the start of the reply while a call is possible
  std::string json_;
  std::string tail_;  // text after the JSON inside a fence
  bool fenced_ = false;
  JsonValueScanner scanner_;

  void to_content(ParserOutput& out) {
    out.content += raw_;
    raw_.clear();
    state_ = State::Content;
  }

  void step(char c, ParserOutput& out) override {
    switch (state_) {
      case State::Start:
        if (is_json_space(c)) {
          raw_ += c;
          return;
        }
        if (c == '{' || c == '[') {
          start_json(c);
          return;
        }
        if (c == '`') {
          raw_ += c;
          state_ = State::FenceOpen;
          return;
        }
        to_content(out);
        out.content += c;
        return;
      case State::FenceOpen: {
        raw_ += c;
        size_t start = raw_.find('`');
        std::string_view opening = std::string_view(raw_).substr(start);
        if (opening.size() <= kFence.size()) {
          if (kFence.substr(0, opening.size()) != opening) to_content(out);
          return;
        }
        if (c == '\n') {
          std::string_view lang = opening.substr(kFence.size());
          while (!lang.empty() && is_json_space(lang.back())) lang.remove_suffix(1);
          if (lang.empty() || lang == "json") state_ = State::FenceBody;
          else to_content(out);
        } else if (opening.size() > 16) {
          to_content(out);
        }
        return;
      }
      case State::FenceBody:
        if (is_json_space(c)) {
          raw_ += c;
          return;
        }
        if (c != '{' && c != '[') {
          to_content(out);
          out.content += c;
          return;
        }
        fenced_ = true;
        start_json(c);
        return;
      case State::Json: {
        auto status = scanner_.feed(c);
        raw_ += c;
        if (status == JsonValueScanner::Status::Invalid) {
          warn("malformed JSON tool call; passed through as content");
          to_content(out);
          return;
        }
        json_ += c;
        if (status == JsonValueScanner::Status::Done) {
          if (fenced_) {
            tail_.clear();
            state_ = State::FenceClose;
          } else {
            complete(out);
          }
        }
        return;
      }
      case State::FenceClose: {
        raw_ += c;
        tail_ += c;
        size_t ws = 0;
        while (ws < tail_.size() && is_json_space(tail_[ws])) ++ws;
        std::string_view rest = std::string_view(tail_).substr(ws);
        if (rest.size() > kFence.size() || kFence.substr(0, rest.size()) != rest) {
          to_content(out);
        } else if (rest.size() == kFence.size()) {
          complete(out);
        }
        return;
      }
      case State::After:
        // Whitespace right after the call is layout; text after it is content.
        if (is_json_space(c)) return;
        state_ = State::Content;
        out.content += c;
        return;
      case State::Content: out.content += c; return;
    }
  }

  void start_json(char c) {
    scanner_.reset();
    scanner_.feed(c);
    json_ = c;
    raw_ += c;
    state_ = State::Json;
  }

  void complete(ParserOutput& out) {
    // A call object, or an array of call objects (parallel calls).
    std::vector<ParsedCall> calls;
    std::string why;
    auto j = nlohmann::ordered_json::parse(json_, nullptr, false);
    if (j.is_array()) {
      for (const auto& item : j) {
        auto call = item.is_object() ? parse_call(item.dump(), &why) : std::nullopt;
        if (!call) {
          calls.clear();
          break;
        }
        calls.push_back(*call);
      }
      if (j.empty()) calls.clear();
    } else if (auto call = parse_call(json_, &why)) {
      calls.push_back(*call);
    }
    if (calls.empty()) {
      if (j.is_discarded()) warn("malformed JSON tool call; passed through as content");
      to_content(out);  // JSON that is not a call is the answer itself
      return;
    }
    for (const auto& call : calls) emit_call(call, out);
    raw_.clear();
    state_ = State::After;
  }

  void end(ParserOutput& out) override {
    switch (state_) {
      case State::Json:
      case State::FenceClose:
        warn("unterminated JSON tool call at end of generation; passed through as content");
        to_content(out);
        break;
      case State::After: break;
      default: to_content(out); break;
    }
  }
};

class GenericDialect final : public ToolDialect {
 public:
  std::string_view name() const override { return "generic"; }
  std::unique_ptr<ToolCallParser> make_parser() const override { return std::make_unique<GenericToolParser>(); }
  std::string forced_call_prefix(const std::optional<std::string>& function_name) const override {
    if (!function_name) return "{\"name\": \"";
    return "{\"name\": " + json_quote(*function_name) + ", \"arguments\": ";
  }
  constrained::ToolCallFormat call_format() const override {
    constrained::ToolCallFormat f;
    f.several_calls = false;  // the whole reply is one call
    return f;
  }
};

}  // namespace

std::unique_ptr<ToolDialect> make_generic_dialect() { return std::make_unique<GenericDialect>(); }

}  // namespace toolgate::engine::tool_dialects
