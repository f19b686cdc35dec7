// The gateway's seams implemented with the engine's chat template engine and tool dialects.
#include "gateway/engine_adapters.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "engine/chat_template.h"
#include "engine/constrained/tool_call_constraint.h"
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

class GrammarConstraintFactory final : public ToolCallConstraintFactory {
 public:
  GrammarConstraintFactory(std::shared_ptr<const engine::constrained::ToolCallGrammar> grammar,
                           std::shared_ptr<const engine::constrained::TokenByteIndex> index)
      : grammar_(std::move(grammar)), index_(std::move(index)) {}

  std::shared_ptr<engine::LogitsProcessor> make(std::string_view prefix) const override {
    try {
      return std::make_shared<engine::constrained::ToolCallConstraint>(grammar_, index_, prefix);
    } catch (const std::invalid_argument& e) {
      spdlog::warn("tool-call constraint not applied: {}", e.what());
      return nullptr;
    }
  }

 private:
  std::shared_ptr<const engine::constrained::ToolCallGrammar> grammar_;
  std::shared_ptr<const engine::constrained::TokenByteIndex> index_;
};

class DialectSyntax final : public ToolCallSyntax {
 public:
  DialectSyntax(std::unique_ptr<engine::ToolDialect> d, const engine::Tokenizer& tokenizer)
      : dialect_(std::move(d)), tokenizer_(tokenizer) {}
  std::unique_ptr<ToolCallStreamParser> make_parser() const override {
    return std::make_unique<DialectParser>(dialect_->make_parser());
  }
  std::string forced_call_prefix(std::optional<std::string> name) const override {
    return dialect_->forced_call_prefix(name);
  }

  std::shared_ptr<const ToolCallConstraintFactory> make_constraint(
      const ToolConstraintSpec& spec) const override {
    namespace c = engine::constrained;
    c::ToolCallGrammarOptions options;
    options.format = dialect_->call_format();
    for (const auto& t : spec.tools) {
      const auto fn = t.find("function");
      if (fn == t.end() || !fn->contains("name") || !(*fn)["name"].is_string()) continue;
      c::ToolSpec tool;
      tool.name = (*fn)["name"].get<std::string>();
      if (auto p = fn->find("parameters"); p != fn->end())
        tool.parameters = nlohmann::json::parse(p->dump());
      options.tools.push_back(std::move(tool));
    }
    options.only = spec.only;
    options.mode = spec.forced ? c::ConstraintMode::Forced : c::ConstraintMode::Lazy;
    options.parallel = spec.parallel;
    std::shared_ptr<const c::ToolCallGrammar> grammar;
    try {
      grammar = std::make_shared<c::ToolCallGrammar>(options);
    } catch (const std::invalid_argument&) {
      return nullptr;  // no tool to call
    }
    return std::make_shared<GrammarConstraintFactory>(std::move(grammar), index());
  }

 private:
  // Built on first use (about a second for a 150k vocabulary), then shared by every request.
  std::shared_ptr<const engine::constrained::TokenByteIndex> index() const {
    std::call_once(index_once_, [&] {
      index_ = std::make_shared<engine::constrained::TokenByteIndex>(tokenizer_);
    });
    return index_;
  }

  std::unique_ptr<engine::ToolDialect> dialect_;
  const engine::Tokenizer& tokenizer_;
  mutable std::once_flag index_once_;
  mutable std::shared_ptr<const engine::constrained::TokenByteIndex> index_;
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
  return std::make_shared<DialectSyntax>(std::move(dialect), engine.tokenizer());
}

}  // namespace toolgate::gateway
