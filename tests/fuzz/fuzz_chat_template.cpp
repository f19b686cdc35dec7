// Jinja chat template text and its render context. Input: options byte, template text, NUL,
// then a JSON object {"messages": [...], "tools": [...], ...other variables} (anything else
// renders a fixed two-message conversation). Options bit 0: add_generation_prompt.
// Parse and render errors are exceptions the server turns into a clear error; nothing may
// crash, overflow the stack or run away with memory.
#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "fuzz_input.h"

using namespace toolgate;
using nlohmann::ordered_json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in = fuzz::split_input(data, size);
  ordered_json messages = ordered_json::array(
      {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}}});
  ordered_json tools = nullptr, extra = ordered_json::object();
  auto context = ordered_json::parse(in.second, nullptr, /*allow_exceptions=*/false);
  if (context.is_object()) {
    if (auto it = context.find("messages"); it != context.end()) messages = *it;
    if (auto it = context.find("tools"); it != context.end()) tools = *it;
    for (auto it = context.begin(); it != context.end(); ++it)
      if (it.key() != "messages" && it.key() != "tools") extra[it.key()] = it.value();
  }
  std::unique_ptr<engine::ChatTemplate> tmpl;
  try {
    tmpl = engine::ChatTemplate::create(std::string(in.first), {"<s>", "</s>"});
  } catch (const engine::TemplateError&) {
    return 0;
  }
  try {
    (void)tmpl->render_ordered(messages, tools, in.options & 1, extra);
  } catch (const std::exception&) {
    // TemplateError, raise_exception(), recursion limit: an error answer, not a crash.
  }
  return 0;
}
