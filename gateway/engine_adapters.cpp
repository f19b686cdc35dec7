// The gateway's seams implemented with the engine's chat template engine and tool dialects.
#include "gateway/engine_adapters.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "engine/chat_template.h"
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

}  // namespace toolgate::gateway
