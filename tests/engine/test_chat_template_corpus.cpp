// Every real chat template in testdata/templates must parse and render basic conversations.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/chat_template.h"
#include "test_paths.h"

using nlohmann::json;
using toolgate::engine::ChatTemplate;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::filesystem::path> template_files() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(toolgate::testing::testdata_dir() / "templates"))
    if (e.path().extension() == ".jinja") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

const json kTools = json::parse(R"([{"type": "function", "function": {"name": "get_weather",
  "description": "Get the weather", "parameters": {"type": "object", "properties": {"city": {"type": "string",
  "description": "City name"}}, "required": ["city"]}}}])");

}  // namespace

TEST(ChatTemplateCorpus, EveryTemplateRendersAUserMessage) {
  auto files = template_files();
  ASSERT_EQ(files.size(), 70u);
  std::vector<std::string> failures;
  for (const auto& path : files) {
    try {
      auto t = ChatTemplate::create(read_file(path), {"<s>", "</s>"});
      std::string out = t->render(json::array({{{"role", "user"}, {"content", "Hello there"}}}), nullptr, true);
      if (out.find("Hello there") == std::string::npos) failures.push_back(path.filename().string() + ": message missing");
    } catch (const std::exception& e) {
      failures.push_back(path.filename().string() + ": " + e.what());
    }
  }
  for (const auto& f : failures) ADD_FAILURE() << f;
}

TEST(ChatTemplateCorpus, EveryToolTemplateRendersAToolConversation) {
  json messages = json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temp\": 21}"},
    {"role": "assistant", "content": "It is 21 degrees."},
    {"role": "user", "content": "Thanks"}
  ])");
  std::vector<std::string> failures;
  for (const auto& path : template_files()) {
    try {
      auto t = ChatTemplate::create(read_file(path), {"<s>", "</s>"});
      if (!t->supports_tools()) continue;
      std::string out = t->render(messages, kTools, true);
      if (out.find("Thanks") == std::string::npos) failures.push_back(path.filename().string() + ": message missing");
    } catch (const std::exception& e) {
      failures.push_back(path.filename().string() + ": " + e.what());
    }
  }
  for (const auto& f : failures) ADD_FAILURE() << f;
}
