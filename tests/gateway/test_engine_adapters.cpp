// The real seams: the engine's chat template engine, its tool dialects and the tools registry,
// as the gateway uses them.
#include <gtest/gtest.h>

#include "fakes.h"
#include "gateway/engine_adapters.h"
#include "gateway/registry_toolbox.h"
#include "tools/builtin/builtin_tools.h"
#include "tools/tool_registry.h"

namespace toolgate::gateway {
namespace {

using nlohmann::ordered_json;

// A ChatML template in the style of Qwen2.5's, with tools and tool calls.
const char* kChatMl = R"({%- if tools %}<|im_start|>system
# Tools
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}<|im_end|>
{% endif %}
{%- for message in messages %}
{%- if message.role == "tool" %}<|im_start|>user
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{% elif message.role == "assistant" and message.tool_calls %}<|im_start|>assistant
{%- for tc in message.tool_calls %}
<tool_call>
{"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}}
</tool_call>
{%- endfor %}<|im_end|>
{% else %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %})";

testing::FakeEngine::Options with_template(std::string t) {
  testing::FakeEngine::Options o;
  o.chat_template = std::move(t);
  o.architecture = "qwen2";
  return o;
}

TEST(ChatTemplateRenderer, RendersMessagesWithTheModelsTemplate) {
  testing::FakeEngine engine(with_template(kChatMl));
  auto r = make_chat_template_renderer(engine);
  ordered_json messages = ordered_json::array({{{"role", "user"}, {"content", "Hi"}}});
  EXPECT_EQ(r->render(messages, nullptr, true),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateRenderer, ToolSchemasKeepTheirKeyOrderInThePrompt) {
  testing::FakeEngine engine(with_template(kChatMl));
  auto r = make_chat_template_renderer(engine);
  ordered_json tools = ordered_json::parse(
      R"([{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"zeta":{},"alpha":{}}}}}])");
  std::string prompt =
      r->render(ordered_json::array({{{"role", "user"}, {"content", "x"}}}), tools, true);
  EXPECT_LT(prompt.find("zeta"), prompt.find("alpha")) << prompt;
}

TEST(ChatTemplateRenderer, TemplateExceptionBecomesPromptRenderError) {
  testing::FakeEngine engine(with_template("{{ raise_exception('roles must alternate') }}"));
  auto r = make_chat_template_renderer(engine);
  EXPECT_THROW(r->render(ordered_json::array(), nullptr, true), PromptRenderError);
}

TEST(ChatTemplateRenderer, OverrideWinsAndMissingTemplateIsAnError) {
  testing::FakeEngine engine(with_template(""));
  EXPECT_THROW(make_chat_template_renderer(engine), std::runtime_error);
  auto r = make_chat_template_renderer(engine, std::string("{{ messages[0].content }}!"));
  EXPECT_EQ(
      r->render(ordered_json::array({{{"role", "user"}, {"content", "Hey"}}}), nullptr, false),
      "Hey!");
}

TEST(ToolCallSyntaxAdapter, HermesCallsComeOutAsFragments) {
  testing::FakeEngine engine(with_template(kChatMl));
  auto syntax = make_tool_call_syntax(engine, std::string("hermes"));
  ASSERT_TRUE(syntax);
  auto p = syntax->make_parser();
  ParsedText a = p->feed("Let me look.<tool_call>\n{\"name\": \"get_weather\", \"argu");
  ParsedText b = p->feed("ments\": {\"city\": \"Paris\"}}\n</tool_call>");
  ParsedText c = p->finish();
  std::string content = a.content + b.content + c.content;
  EXPECT_EQ(content.find("<tool_call>"), std::string::npos);
  std::vector<ToolCallFragment> calls;
  for (auto* o : {&a, &b, &c})
    for (auto& f : o->tool_calls) calls.push_back(f);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "get_weather");
  EXPECT_EQ(nlohmann::json::parse(calls[0].arguments)["city"], "Paris");
}

TEST(ToolCallSyntaxAdapter, ForcedPrefixPrimesTheParserSilently) {
  testing::FakeEngine engine(with_template(kChatMl));
  auto syntax = make_tool_call_syntax(engine, std::string("hermes"));
  std::string prefix = syntax->forced_call_prefix(std::string("f"));
  EXPECT_FALSE(prefix.empty());
  auto p = syntax->make_parser();
  ParsedText primed = p->feed(prefix);
  EXPECT_TRUE(primed.content.empty());
  EXPECT_TRUE(primed.tool_calls.empty());
}

TEST(RegistryToolbox, RunsBuiltinToolsAndReportsErrorsAsContent) {
  tools::ToolRegistry registry;
  tools::register_builtin_tools(registry, {"add"});
  RegistryToolbox box(registry);
  EXPECT_TRUE(box.has("add"));
  EXPECT_FALSE(box.has("mul"));
  auto ok = box.invoke("add", {{"a", 2}, {"b", 3}}, std::chrono::milliseconds(1000));
  EXPECT_TRUE(ok.ok);
  EXPECT_NE(ok.content.find('5'), std::string::npos);
  auto bad = box.invoke("add", {{"a", "x"}}, std::chrono::milliseconds(1000));
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.content.find("error"), std::string::npos);
  auto spec = box.openai_tools_json({"add", "nope"});
  ASSERT_EQ(spec.size(), 1u);
  EXPECT_EQ(spec[0]["function"]["name"], "add");
}

}  // namespace
}  // namespace toolgate::gateway
