#include "engine/constrained/tool_call_grammar.h"

#include <algorithm>
#include <stdexcept>

namespace toolgate::engine::constrained {
namespace {

bool is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string json_string(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace);
}

}  // namespace

ToolCallGrammar::ToolCallGrammar(const ToolCallGrammarOptions& options)
    : mode_(options.mode),
      more_calls_(options.parallel && options.format.several_calls) {
  std::vector<std::pair<std::string, const SchemaNode*>> tools;
  for (const auto& t : options.tools) {
    if (options.only && t.name != *options.only) continue;
    tools.emplace_back(json_string(t.name), schemas_.compile_object(t.parameters));
  }
  if (options.only && tools.empty())
    tools.emplace_back(json_string(*options.only), schemas_.compile_object(nlohmann::ordered_json()));
  if (tools.empty()) throw std::invalid_argument("a tool-call grammar needs at least one tool");
  std::sort(tools.begin(), tools.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, schema] : tools) {
    if (!names_.empty() && names_.back() == name) continue;  // a repeated name: first wins
    names_.push_back(name);
    arguments_.push_back(schema);
  }

  const ToolCallFormat& f = options.format;
  auto lit = [](std::string text) { return Op{OpKind::Literal, std::move(text)}; };
  const Op space{OpKind::Space, {}};
  std::vector<Op> json = {lit("{"),         space, lit("\"name\""), space,
                          lit(":"),         space, Op{OpKind::Name, {}},
                          space,            lit(","), space,
                          lit(json_string(f.arguments_key)), space, lit(":"),
                          space,            Op{OpKind::Arguments, {}},
                          space,            lit("}")};
  const size_t json_commit = 3;  // after "name"
  syntax_[1] = {json, json_commit};
  std::vector<Op> fenced = {lit("```"), Op{OpKind::Optional, "json"}, lit("\n"), space};
  fenced.insert(fenced.end(), json.begin(), json.end());
  fenced.push_back(space);
  fenced.push_back(lit("```"));
  syntax_[2] = {std::move(fenced), json_commit + 4};
  if (f.open_tag.empty()) {
    syntax_[0] = syntax_[1];
    bare_index_ = 0;
    bare_at_lead_ = true;  // a bare call is the dialect's own way
    trigger_bytes_.push_back('{');
    trigger_bytes_.push_back('`');
  } else {
    std::vector<Op> tagged = {lit(f.open_tag), space};
    tagged.insert(tagged.end(), json.begin(), json.end());
    if (!f.close_tag.empty()) {
      tagged.push_back(space);
      tagged.push_back(lit(f.close_tag));
    }
    syntax_[0] = {std::move(tagged), 1};
    bare_at_lead_ = f.bare_call_at_lead;
    trigger_bytes_.push_back(f.open_tag[0]);
    if (bare_at_lead_) {
      if (f.open_tag[0] != '{') trigger_bytes_.push_back('{');
      if (f.open_tag[0] != '`') trigger_bytes_.push_back('`');
    }
  }
}

ToolCallState::ToolCallState(const ToolCallGrammar& grammar)
    : g_(&grammar), mode_(grammar.mode_ == ConstraintMode::Forced ? Mode::Call : Mode::Free) {}

bool ToolCallState::feed(std::string_view bytes) {
  for (char c : bytes)
    if (!feed(static_cast<uint8_t>(c))) return false;
  return true;
}

bool ToolCallState::can_end() const {
  switch (mode_) {
    case Mode::Free: return true;
    case Mode::Call: return tentative_;  // a call that was never certain is just text
    case Mode::After: return true;
  }
  return false;
}

bool ToolCallState::in_plain_string() const {
  if (mode_ != Mode::Call) return false;
  const auto& op = g_->syntax_[which_].ops[op_];
  return op.kind == ToolCallGrammar::OpKind::Arguments && op_len_ > 0 && json_.in_plain_string();
}

bool ToolCallState::feed(uint8_t c) {
  switch (mode_) {
    case Mode::Free: free_byte(c); return true;
    case Mode::After:
      if (is_ws(c)) return ws_ < kMaxWhitespace && ++ws_ > 0;
      if (!g_->more_calls_) return false;
      begin_call(0, /*tentative=*/false);
      return call_byte(c);
    case Mode::Call:
      if (call_byte(c)) return true;
      if (!tentative_) return false;
      // It was not a call after all: the bytes so far were text, and so is this one (which
      // may itself start a call).
      mode_ = Mode::Free;
      lead_ = false;
      free_byte(c);
      return true;
  }
  return false;
}

void ToolCallState::free_byte(uint8_t c) {
  if (lead_ && g_->bare_at_lead_ && (c == '{' || c == '`')) {
    begin_call(c == '{' ? g_->bare_index_ : 2, true);
    call_byte(c);
    return;
  }
  lead_ = lead_ && is_ws(c);
  const auto& first = g_->syntax_[0].ops.front();
  if (g_->bare_index_ != 0 && static_cast<uint8_t>(first.text[0]) == c) {
    begin_call(0, true);
    call_byte(c);
  }
}

void ToolCallState::begin_call(int which, bool tentative) {
  mode_ = Mode::Call;
  which_ = static_cast<uint8_t>(which);
  tentative_ = tentative;
  op_ = 0;
  op_len_ = 0;
  ws_ = 0;
  name_ = -1;
}

void ToolCallState::next_op() {
  const auto& syntax = g_->syntax_[which_];
  ++op_;
  op_len_ = 0;
  ws_ = 0;
  if (tentative_ && op_ >= syntax.commit_op) tentative_ = false;
  if (op_ < syntax.ops.size()) return;
  ++calls_;
  if (g_->mode_ == ConstraintMode::Lazy) {
    mode_ = Mode::Free;
    lead_ = true;
  } else {
    mode_ = Mode::After;
  }
}

bool ToolCallState::call_byte(uint8_t c) {
  using OpKind = ToolCallGrammar::OpKind;
  for (;;) {
    const auto& op = g_->syntax_[which_].ops[op_];
    switch (op.kind) {
      case OpKind::Literal:
        if (static_cast<uint8_t>(op.text[op_len_]) != c) return false;
        if (++op_len_ == op.text.size()) next_op();
        return true;
      case OpKind::Optional:
        if (op_len_ == 0 && static_cast<uint8_t>(op.text[0]) != c) {
          next_op();  // left out: the byte belongs to the next op
          continue;
        }
        if (static_cast<uint8_t>(op.text[op_len_]) != c) return false;
        if (++op_len_ == op.text.size()) next_op();
        return true;
      case OpKind::Space:
        if (is_ws(c)) return ws_ < kMaxWhitespace && ++ws_ > 0;
        next_op();  // never the last op: the byte belongs to the next one
        continue;
      case OpKind::Name:
        if (op_len_ == 0) {
          lo_ = 0;
          hi_ = static_cast<uint32_t>(g_->names_.size());
        }
        if (!narrow_literals(g_->names_, lo_, hi_, op_len_, c)) return false;
        if (g_->names_[lo_].size() == ++op_len_) {  // the closing quote
          name_ = static_cast<int32_t>(lo_);
          next_op();
        }
        return true;
      case OpKind::Arguments:
        if (op_len_ == 0) {
          json_.start(g_->arguments_[static_cast<size_t>(name_)]);
          op_len_ = 1;
        }
        switch (json_.feed(c)) {
          case JsonRecognizer::Result::Reject: return false;
          case JsonRecognizer::Result::Accept: return true;
          case JsonRecognizer::Result::Complete: next_op(); return true;
        }
        return false;
    }
  }
}

}  // namespace toolgate::engine::constrained
