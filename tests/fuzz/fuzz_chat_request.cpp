// A chat completion body (any bytes) -> JSON -> typed ChatCompletionRequest, the request edge:
// every malformed field must become a named error, never a crash or an exception.
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "gateway/chat_request.h"

using namespace toolgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = nlohmann::ordered_json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  gateway::ChatRequestParse parsed = gateway::parse_chat_completion_request(body);
  if (parsed.request.has_value() == !parsed.errors.empty())
    fuzz::invariant_failed("a parse has either a request or errors");
  if (!parsed.request) return 0;
  // What the prompt renderer receives: OpenAI-shaped messages and tools.
  (void)gateway::messages_to_template_json(parsed.request->messages).dump();
  for (const auto& tool : parsed.request->tools) (void)gateway::tool_to_openai_json(tool).dump();
  return 0;
}
