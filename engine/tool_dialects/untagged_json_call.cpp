#include "engine/tool_dialects/untagged_json_call.h"

#include <nlohmann/json.hpp>

namespace toolgate::engine::tool_dialects {
namespace {
constexpr std::string_view kFence = "```";
}

UntaggedJsonCall::Status UntaggedJsonCall::start_json(char c) {
  scanner_.reset();
  scanner_.feed(c);
  json_ = c;
  state_ = State::Json;
  return Status::NeedMore;
}

UntaggedJsonCall::Status UntaggedJsonCall::feed(char c) {
  raw_ += c;
  switch (state_) {
    case State::Start:
      if (c == '{' || c == '[') return start_json(c);
      if (c == '`') {
        state_ = State::FenceOpen;
        return Status::NeedMore;
      }
      return Status::NotACall;
    case State::FenceOpen: {
      // raw_ is "```" followed by an optional language tag up to the newline.
      if (raw_.size() <= kFence.size()) return raw_ == kFence.substr(0, raw_.size()) ? Status::NeedMore : Status::NotACall;
      if (c == '\n') {
        std::string_view lang = std::string_view(raw_).substr(kFence.size());
        while (!lang.empty() && is_json_space(lang.back())) lang.remove_suffix(1);
        if (!lang.empty() && lang != "json" && lang != "JSON") return Status::NotACall;
        state_ = State::FenceBody;
        return Status::NeedMore;
      }
      return raw_.size() > kFence.size() + 8 ? Status::NotACall : Status::NeedMore;
    }
    case State::FenceBody:
      if (is_json_space(c)) return Status::NeedMore;
      if (c != '{' && c != '[') return Status::NotACall;
      fenced_ = true;
      return start_json(c);
    case State::Json: {
      auto status = scanner_.feed(c);
      if (status == JsonValueScanner::Status::Invalid) {
        if (looks_like_call()) warning_ = "malformed JSON in an untagged tool call";
        return Status::NotACall;
      }
      json_ += c;
      if (status == JsonValueScanner::Status::NeedMore) return Status::NeedMore;
      if (!fenced_) return complete();
      state_ = State::FenceClose;
      return Status::NeedMore;
    }
    case State::FenceClose: {
      tail_ += c;
      size_t ws = 0;
      while (ws < tail_.size() && is_json_space(tail_[ws])) ++ws;
      std::string_view rest = std::string_view(tail_).substr(ws);
      if (rest.size() > kFence.size() || kFence.substr(0, rest.size()) != rest) return Status::NotACall;
      return rest.size() == kFence.size() ? complete() : Status::NeedMore;
    }
  }
  return Status::NotACall;
}

UntaggedJsonCall::Status UntaggedJsonCall::finish() {
  // max_tokens may cut the closing fence off; the call itself is complete.
  if (state_ == State::FenceClose) return complete();
  if (state_ == State::Json && looks_like_call())
    warning_ = "unterminated untagged tool call at end of generation";
  return Status::NotACall;
}

UntaggedJsonCall::Status UntaggedJsonCall::complete() {
  // JSON that is not a call object (or array of call objects) is the model's answer itself.
  std::string why;
  auto j = nlohmann::ordered_json::parse(json_, nullptr, false);
  if (j.is_array()) {
    for (const auto& item : j) {
      auto call = item.is_object() ? parse_call(item.dump(), &why) : std::nullopt;
      if (!call) {
        calls_.clear();
        return Status::NotACall;
      }
      calls_.push_back(std::move(*call));
    }
  } else if (auto call = parse_call(json_, &why)) {
    calls_.push_back(std::move(*call));
  }
  if (calls_.empty() && j.is_discarded() && looks_like_call()) warning_ = "malformed JSON in an untagged tool call";
  return calls_.empty() ? Status::NotACall : Status::Calls;
}

}  // namespace toolgate::engine::tool_dialects
