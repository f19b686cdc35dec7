// The gateway's seams implemented with the engine's chat template engine and tool dialects.
#include "gateway/engine_adapters.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "engine/chat_template.h"
#include "engine/constrained/reply_constraint.h"
#include "engine/constrained/token_byte_index.h"
#include "engine/tokenizer.h"
#include "engine/tool_dialect.h"

namespace toolgate::gateway {
namespace {

class ChatTemplateRenderer final : public PromptRenderer {
 public:
  explicit ChatTemplateRenderer(std::unique_ptr<engine::ChatTemplate> t)
      : template_(std::move(t)) {}

  std::string render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                     bool add_generation_prompt) const override {
    try {
      return template_->render_ordered(messages, tools, add_generation_prompt);
    } catch (const engine::TemplateError& e) {
      // raise_exception() in the template, or a conversation shape it cannot take.
      throw PromptRenderError(e.what());
    }
  }

 private:
  std::unique_ptr<engine::ChatTemplate> template_;
};

ParsedText convert(engine::ParserOutput out) {
  ParsedText p;
  p.content = std::move(out.content);
  p.tool_calls.reserve(out.tool_calls.size());
  for (auto& d : out.tool_calls)
    p.tool_calls.push_back(
        {d.index, std::move(d.id_hint), std::move(d.name), std::move(d.arguments)});
  return p;
}

class DialectParser final : public ToolCallStreamParser {
 public:
  explicit DialectParser(std::unique_ptr<engine::ToolCallParser> p) : parser_(std::move(p)) {}
  ParsedText feed(std::string_view text) override { return convert(parser_->feed(text)); }
  ParsedText finish() override {
    ParsedText out = convert(parser_->finish());
    // A malformed or cut-off call came back as content; say so for whoever debugs the model.
    for (const auto& w : parser_->warnings()) spdlog::debug("tool-call parser: {}", w);
    return out;
  }

 private:
  std::unique_ptr<engine::ToolCallParser> parser_;
};

class GrammarConstraintFactory final : public ConstraintFactory {
 public:
  GrammarConstraintFactory(std::shared_ptr<const engine::constrained::ReplyGrammar> grammar,
                           std::shared_ptr<const engine::constrained::TokenByteIndex> index)
      : grammar_(std::move(grammar)), index_(std::move(index)) {}

  std::shared_ptr<engine::LogitsProcessor> make(std::string_view prefix) const override {
    try {
      return std::make_shared<engine::constrained::ReplyConstraint>(grammar_, index_, prefix);
    } catch (const std::invalid_argument& e) {
      spdlog::warn("reply constraint not applied: {}", e.what());
      return nullptr;
    }
  }

 private:
  std::shared_ptr<const engine::constrained::ReplyGrammar> grammar_;
  std::shared_ptr<const engine::constrained::TokenByteIndex> index_;
};

class DialectSyntax final : public ToolCallSyntax {
 public:
  explicit DialectSyntax(std::unique_ptr<engine::ToolDialect> d) : dialect_(std::move(d)) {}
  std::unique_ptr<ToolCallStreamParser> make_parser() const override {
    return std::make_unique<DialectParser>(dialect_->make_parser());
  }
  std::string forced_call_prefix(std::optional<std::string> name) const override {
    return dialect_->forced_call_prefix(name);
  }

 private:
  std::unique_ptr<engine::ToolDialect> dialect_;
};

class EngineReplyConstraints final : public ReplyConstraints {
 public:
  EngineReplyConstraints(const engine::Tokenizer& tokenizer,
                         std::optional<engine::constrained::ToolCallFormat> call_format)
      : call_format_(std::move(call_format)),
        index_(std::make_shared<engine::constrained::TokenByteIndex>(tokenizer)) {}

  std::shared_ptr<const engine::constrained::CompiledSchema> compile(
      const nlohmann::ordered_json& schema, bool object_root,
      const engine::constrained::SchemaLimits& limits) const override {
    bool compiled_now = false;
    auto out = cache_.get(schema, object_root, limits, &compiled_now);
    if (compiled_now) {
      // Relaxed parts are said once per schema, when it is compiled (later hits are silent).
      for (const auto& issue : out->issues)
        if (issue.kind == engine::constrained::SchemaIssue::Kind::Unsupported)
          spdlog::info("schema: {} at '{}' is relaxed: {}",
                       engine::constrained::schema_issue_kind_name(issue.kind), issue.path,
                       issue.message);
    }
    return out;
  }

  std::shared_ptr<const ConstraintFactory> make(const ReplyConstraintSpec& spec) const override {
    namespace c = engine::constrained;
    std::shared_ptr<const c::ToolCallGrammar> calls;
    if (spec.tools && call_format_) {
      c::ToolCallGrammarOptions options;
      options.format = *call_format_;
      for (const auto& t : spec.tools->tools) {
        const auto fn = t.find("function");
        if (fn == t.end() || !fn->contains("name") || !(*fn)["name"].is_string()) continue;
        c::ToolSpec tool;
        tool.name = (*fn)["name"].get<std::string>();
        if (auto p = fn->find("parameters"); p != fn->end()) tool.parameters = *p;
        options.tools.push_back(std::move(tool));
      }
      options.only = spec.tools->only;
      options.mode = spec.tools->forced ? c::ConstraintMode::Forced : c::ConstraintMode::Lazy;
      options.parallel = spec.tools->parallel;
      try {
        calls = std::make_shared<c::ToolCallGrammar>(options);
      } catch (const std::invalid_argument&) {
        // no tool to call
      }
    }
    if (!calls && !spec.answer) return nullptr;
    return std::make_shared<GrammarConstraintFactory>(
        std::make_shared<c::ReplyGrammar>(std::move(calls), spec.answer), index_);
  }

 private:
  std::optional<engine::constrained::ToolCallFormat> call_format_;
  std::shared_ptr<const engine::constrained::TokenByteIndex> index_;
  mutable engine::constrained::SchemaCache cache_;
};

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::shared_ptr<const PromptRenderer> make_chat_template_renderer(
    const engine::Engine& engine, std::optional<std::string> template_override) {
  std::string source = template_override ? *template_override : engine.model().chat_template;
  if (source.empty())
    throw std::runtime_error("model '" + engine.model().name +
                             "' has no chat template (tokenizer.chat_template); give one in the "
                             "config (chat_template / chat_template_file)");
  const auto& tok = engine.tokenizer();
  engine::ChatTemplateOptions opts;
  if (tok.bos_id() >= 0) opts.bos_token = tok.token_text(tok.bos_id());
  if (tok.eos_id() >= 0) opts.eos_token = tok.token_text(tok.eos_id());
  try {
    return std::make_shared<ChatTemplateRenderer>(
        engine::ChatTemplate::create(std::move(source), opts));
  } catch (const engine::TemplateError& e) {
    throw std::runtime_error("model '" + engine.model().name + "': chat template: " + e.what());
  }
}

std::shared_ptr<const ToolCallSyntax> make_tool_call_syntax(
    const engine::Engine& engine, std::optional<std::string> dialect_override) {
  std::optional<std::string_view> name;
  if (dialect_override) name = *dialect_override;
  auto dialect =
      engine::make_tool_dialect(engine.model().chat_template, engine.model().architecture, name);
  if (!dialect) return nullptr;
  return std::make_shared<DialectSyntax>(std::move(dialect));
}

std::shared_ptr<const ReplyConstraints> make_reply_constraints(
    const engine::Engine& engine, std::optional<std::string> dialect_override) {
  std::optional<std::string_view> name;
  if (dialect_override) name = *dialect_override;
  auto dialect =
      engine::make_tool_dialect(engine.model().chat_template, engine.model().architecture, name);
  std::optional<engine::constrained::ToolCallFormat> format;
  if (dialect) format = dialect->call_format();
  return std::make_shared<EngineReplyConstraints>(engine.tokenizer(), std::move(format));
}

}  // namespace toolgate::gateway
