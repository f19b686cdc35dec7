// Real model templates rendered for typical conversations. Expected strings are written out
// from the template text (and were cross-checked against Jinja2 3.1.6 configured like HF).
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "engine/chat_template.h"
#include "test_paths.h"

using nlohmann::json;
using nlohmann::ordered_json;
using toolgate::engine::ChatTemplate;

namespace {

std::string load_template(const std::string& name) {
  std::ifstream f(toolgate::testing::testdata_dir() / "templates" / (name + ".jinja"), std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// SmolLM2-135M-Instruct's tokenizer.chat_template, as stored in its GGUF.
const char* kSmolLM2Template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n"
    "' + message['content'] + '<|im_end|>' + '\n"
    "'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n"
    "' }}{% endif %}";

const char* kToolsJson = R"([{"type": "function", "function": {"name": "get_weather",
  "description": "Get the weather", "parameters": {"type": "object",
  "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}}}])";

// The same tool, as tojson prints it with the author's key order...
const char* kToolOrdered =
    R"({"type": "function", "function": {"name": "get_weather", "description": "Get the weather", )"
    R"("parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, )"
    R"("required": ["city"]}}})";
// ...and after a round trip through nlohmann::json, which sorts keys.
const char* kToolSorted =
    R"({"function": {"description": "Get the weather", "name": "get_weather", "parameters": {"properties": )"
    R"({"city": {"description": "City name", "type": "string"}}, "required": ["city"], "type": "object"}}, )"
    R"("type": "function"})";

const char* kToolConversation = R"([
  {"role": "system", "content": "You are helpful."},
  {"role": "user", "content": "Weather in Paris?"},
  {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345", "type": "function",
    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
  {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21}"},
  {"role": "assistant", "content": "It is 21 degrees."},
  {"role": "user", "content": "Thanks"}
])";

const char* kQwenToolsPreamble =
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n";
const char* kQwenToolsPostamble =
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\n</tool_call><|im_end|>\n";

std::string today(const char* fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, fmt, &tm));
}

}  // namespace

TEST(SmolLM2Template, SystemAndUser) {
  auto t = ChatTemplate::create(kSmolLM2Template, {"<|im_start|>", "<|im_end|>"});
  EXPECT_FALSE(t->supports_tools());
  json messages = json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])");
  EXPECT_EQ(t->render(messages, nullptr, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(SmolLM2Template, DefaultSystemPromptWhenNoneGiven) {
  auto t = ChatTemplate::create(kSmolLM2Template, {"<|im_start|>", "<|im_end|>"});
  json messages = json::parse(
      R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}])");
  EXPECT_EQ(t->render(messages, nullptr, false),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nBye<|im_end|>\n");
}

TEST(Qwen25Template, SystemAndUserWithoutTools) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen2.5-7B-Instruct"), {"", "<|im_end|>"});
  EXPECT_TRUE(t->supports_tools());
  EXPECT_TRUE(t->wants_object_arguments());
  json messages = json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])");
  EXPECT_EQ(t->render(messages, nullptr, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Qwen25Template, DefaultSystemPrompt) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen2.5-7B-Instruct"), {"", "<|im_end|>"});
  json messages = json::parse(R"([{"role": "user", "content": "Hi"}])");
  EXPECT_EQ(t->render(messages, nullptr, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Qwen25Template, UserWithToolsKeepsToolKeyOrder) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen2.5-7B-Instruct"), {"", "<|im_end|>"});
  ordered_json messages = ordered_json::parse(R"([{"role": "user", "content": "Weather in Paris?"}])");
  EXPECT_EQ(t->render_ordered(messages, ordered_json::parse(kToolsJson), true),
            std::string("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n") +
                kQwenToolsPreamble + kToolOrdered + kQwenToolsPostamble +
                "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Qwen25Template, UserWithToolsFromSortedJson) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen2.5-7B-Instruct"), {"", "<|im_end|>"});
  json messages = json::parse(R"([{"role": "user", "content": "Weather in Paris?"}])");
  EXPECT_EQ(t->render(messages, json::parse(kToolsJson), true),
            std::string("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n") +
                kQwenToolsPreamble + kToolSorted + kQwenToolsPostamble +
                "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Qwen25Template, ToolCallToolResultAndFollowUp) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen2.5-7B-Instruct"), {"", "<|im_end|>"});
  EXPECT_EQ(t->render_ordered(ordered_json::parse(kToolConversation), ordered_json::parse(kToolsJson), true),
            std::string("<|im_start|>system\nYou are helpful.\n\n") + kQwenToolsPreamble + kToolOrdered +
                kQwenToolsPostamble +
                "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                "</tool_call><|im_end|>\n"
                "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n"
                "<|im_start|>assistant\nIt is 21 degrees.<|im_end|>\n"
                "<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Qwen25Template, ParallelCallsAndObjectArgumentsAndConsecutiveToolResults) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen2.5-7B-Instruct"), {"", "<|im_end|>"});
  ordered_json messages = ordered_json::parse(R"([
    {"role": "user", "content": "Paris and Rome?"},
    {"role": "assistant", "content": "Checking.", "tool_calls": [
      {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
      {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\", \"days\": 2}"}}]},
    {"role": "tool", "tool_call_id": "a", "content": "sunny"},
    {"role": "tool", "tool_call_id": "b", "content": "rainy"}
  ])");
  EXPECT_EQ(t->render_ordered(messages, nullptr, true),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nParis and Rome?<|im_end|>\n"
            "<|im_start|>assistant\nChecking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
            "</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\", \"days\": 2}}\n"
            "</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrainy\n</tool_response>"
            "<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Qwen3Template, ToolConversationAndThinkingSwitch) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen3-0.6B"), {"", "<|im_end|>"});
  std::string expected = std::string("<|im_start|>system\nYou are helpful.\n\n") + kQwenToolsPreamble +
                         kToolOrdered + kQwenToolsPostamble +
                         "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                         "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                         "{\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                         "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n"
                         "<|im_start|>assistant\nIt is 21 degrees.<|im_end|>\n"
                         "<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n";
  auto messages = ordered_json::parse(kToolConversation);
  auto tools = ordered_json::parse(kToolsJson);
  EXPECT_EQ(t->render_ordered(messages, tools, true), expected);
  EXPECT_EQ(t->render_ordered(messages, tools, true, ordered_json{{"enable_thinking", false}}),
            expected + "<think>\n\n</think>\n\n");
}

TEST(Qwen3Template, ReasoningOfTheLastAssistantTurnIsKept) {
  auto t = ChatTemplate::create(load_template("Qwen-Qwen3-0.6B"), {"", "<|im_end|>"});
  json messages = json::parse(R"([{"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}])");
  EXPECT_EQ(t->render(messages, nullptr, false),
            "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nadd\n</think>\n\n4<|im_end|>\n");
}

TEST(SmolLM3Template, ThinkingOnByDefaultAndOffViaSystemFlag) {
  auto t = ChatTemplate::create(load_template("HuggingFaceTB-SmolLM3-3B"), {"", "<|im_end|>"});
  json on = json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])");
  EXPECT_EQ(t->render(on, nullptr, true),
            "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: /think\n\n"
            "## Custom Instructions\n\nBe brief.\n\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  json off = json::parse(R"([{"role": "system", "content": "Be brief. /no_think"}, {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello"}])");
  EXPECT_EQ(t->render(off, nullptr, true),
            "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: /no_think\n\n"
            "## Custom Instructions\n\nBe brief.\n\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\nHello<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n");
}

TEST(Llama32Template, ToolsGoInTheFirstUserMessage) {
  auto t = ChatTemplate::create(load_template("meta-llama-Llama-3.2-3B-Instruct"), {"<|begin_of_text|>", "<|eot_id|>"});
  ordered_json messages = ordered_json::parse(R"([{"role": "user", "content": "Weather in Paris? "}])");
  EXPECT_EQ(t->render_ordered(messages, ordered_json::parse(kToolsJson), true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
            "Cutting Knowledge Date: December 2023\nToday Date: " + today("%d %b %Y") + "\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON "
            "for a function call with its proper arguments that best answers the given prompt.\n\n"
            "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its "
            "value}.Do not use variables.\n\n"
            "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n"
            "        \"description\": \"Get the weather\",\n        \"parameters\": {\n"
            "            \"type\": \"object\",\n            \"properties\": {\n                \"city\": {\n"
            "                    \"type\": \"string\",\n                    \"description\": \"City name\"\n"
            "                }\n            },\n            \"required\": [\n                \"city\"\n"
            "            ]\n        }\n    }\n}\n\n"
            "Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(Llama32Template, ToolCallAndIpythonResult) {
  auto t = ChatTemplate::create(load_template("meta-llama-Llama-3.2-3B-Instruct"), {"<|begin_of_text|>", "<|eot_id|>"});
  json messages = json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"},
    {"role": "assistant", "tool_calls": [{"id": "x", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "content": "sunny"}])");
  EXPECT_EQ(t->render(messages, nullptr, false, json{{"date_string", "01 Jan 2025"}}),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": "
            "{\"city\": \"Paris\"}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n\"sunny\"<|eot_id|>");
}

TEST(Hermes2ProTemplate, ToolsAsPythonSignaturesAndToolTurns) {
  auto t = ChatTemplate::create(load_template("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use"),
                                {"<|begin_of_text|>", "<|im_end|>"});
  std::string system =
      "<|begin_of_text|><|im_start|>system\nYou are a function calling AI model. You are provided with function "
      "signatures within <tools></tools> XML tags. You may call one or more functions to assist with the user query. "
      "Don't make assumptions about what values to plug into functions. Here are the available tools: <tools> "
      "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"get_weather(city: str) - "
      "Get the weather\n\n    Args:\n        city(str): City name\", \"parameters\": {\"type\": \"object\", "
      "\"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name\"}}, \"required\": [\"city\"]}} "
      "</tools>Use the following pydantic model json schema for each tool call you will make: {\"properties\": "
      "{\"name\": {\"title\": \"Name\", \"type\": \"string\"}, \"arguments\": {\"title\": \"Arguments\", \"type\": "
      "\"object\"}}, \"required\": [\"name\", \"arguments\"], \"title\": \"FunctionCall\", \"type\": \"object\"}}\n"
      "For each function call return a json object with function name and arguments within <tool_call></tool_call> "
      "XML tags as follows:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-dict>}\n"
      "</tool_call><|im_end|>\n";
  auto tools = ordered_json::parse(kToolsJson);
  EXPECT_EQ(t->render_ordered(ordered_json::parse(R"([{"role": "user", "content": "Weather in Paris?"}])"), tools, true),
            system + "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t->render_ordered(ordered_json::parse(kToolConversation), tools, true),
            system +
                "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                "</tool_call><|im_end|>\n<|im_start|>tool\n<tool_response>\n{\"temp\": 21}\n</tool_response>\n"
                "<|im_end|><|im_start|>assistant\nIt is 21 degrees.<|im_end|>\n"
                "<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n");
}
