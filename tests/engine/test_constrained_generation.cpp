// The real model (Qwen2.5-Coder-0.5B) generating under a tool-call constraint at a high
// temperature: every reply must be a call to an allowed tool with arguments that follow its
// schema. Without the constraint a 0.5B model at this temperature often is not.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "engine/constrained/reply_constraint.h"
#include "engine/engine.h"
#include "engine/tokenizer.h"
#include "engine/tool_dialect.h"
#include "test_paths.h"

using namespace toolgate::engine;
using namespace toolgate::engine::constrained;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
   "parameters": {"type": "object", "properties": {
     "city": {"type": "string", "description": "City name"},
     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
     "days": {"type": "integer", "description": "Forecast days"}},
   "required": ["city", "unit"]}}},
  {"type": "function", "function": {"name": "get_time", "description": "Current time in a time zone",
   "parameters": {"type": "object", "properties": {
     "zone": {"type": "string", "enum": ["UTC", "CET", "PST"]}}, "required": ["zone"]}}}
])";

struct Reply {
  std::string text;
  FinishReason reason = FinishReason::Error;
};

class ConstrainedGeneration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto path = toolgate::testing::tool_model();
    if (path.empty() || !std::filesystem::exists(path)) return;
    EngineOptions o;
    o.kv_budget_bytes = 512ull << 20;
    o.max_num_seqs = 25;
    o.context_length = 2048;
    engine_ = Engine::create(path, o).release();
    index_ = new std::shared_ptr<const TokenByteIndex>(
        std::make_shared<TokenByteIndex>(engine_->tokenizer()));
  }
  static void TearDownTestSuite() {
    delete index_;
    delete engine_;
    index_ = nullptr;
    engine_ = nullptr;
  }
  void SetUp() override {
    if (!engine_) GTEST_SKIP() << "tool model not fetched";
  }

  // Runs one generation per seed, all at once, and returns the replies in seed order.
  static std::vector<Reply> generate(const std::string& prompt, int n, float temperature,
                                     const std::function<std::shared_ptr<LogitsProcessor>()>& make) {
    auto tokens = engine_->tokenizer().encode(prompt, true, true);
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    std::vector<Reply> replies(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      GenerationRequest r;
      r.prompt = tokens;
      r.sampling.temperature = temperature;
      r.sampling.seed = static_cast<uint64_t>(1000 + i);
      r.max_tokens = 96;
      r.logits_processor = make ? make() : nullptr;
      r.on_token = [&, i](TokenEvent&& ev) {
        std::lock_guard lock(mu);
        replies[static_cast<size_t>(i)].text += ev.text;
      };
      r.on_finish = [&, i](FinishEvent&& ev) {
        std::lock_guard lock(mu);
        replies[static_cast<size_t>(i)].reason = ev.reason;
        ++done;
        cv.notify_all();
      };
      engine_->submit(std::move(r));
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == n; });
    return replies;
  }

  static std::string prompt(const std::string& user) {
    auto tmpl = ChatTemplate::create(engine_->model().chat_template, {});
    ojson messages = ojson::array({{{"role", "user"}, {"content", user}}});
    return tmpl->render_ordered(messages, ojson::parse(kTools), true);
  }

  // Calls the Hermes parser finds in prefix + text; ::testing failures for anything invalid.
  // A reply cut off by max_tokens may end in an unfinished call, which the parser returns as
  // text: the constraint cannot know the budget.
  static std::vector<std::pair<std::string, json>> valid_calls(const ToolDialect& d,
                                                               const std::string& prefix,
                                                               const Reply& reply) {
    const std::string& text = reply.text;
    auto parser = d.make_parser();
    (void)parser->feed(prefix);
    auto out = parser->feed(text);
    auto fin = parser->finish();
    out.content += fin.content;
    for (auto& c : fin.tool_calls) out.tool_calls.push_back(c);
    if (reply.reason == FinishReason::Stop) {
      EXPECT_EQ(out.content, "") << prefix << text;
    }
    std::vector<std::pair<std::string, json>> calls;
    for (const auto& c : out.tool_calls) {
      json args = json::parse(c.arguments);
      if (c.name == "get_weather") {
        EXPECT_TRUE(args.at("city").is_string()) << text;
        EXPECT_TRUE(args.at("unit") == "celsius" || args.at("unit") == "fahrenheit") << text;
        if (args.contains("days")) {
          EXPECT_TRUE(args["days"].is_number_integer()) << text;
        }
        for (auto it = args.begin(); it != args.end(); ++it)
          EXPECT_TRUE(it.key() == "city" || it.key() == "unit" || it.key() == "days") << text;
      } else {
        EXPECT_EQ(c.name, "get_time") << text;
        EXPECT_TRUE(args.at("zone") == "UTC" || args["zone"] == "CET" || args["zone"] == "PST")
            << text;
        EXPECT_EQ(args.size(), 1u) << text;
      }
      calls.emplace_back(c.name, args);
    }
    return calls;
  }

  static std::vector<ToolSpec> specs() {
    std::vector<ToolSpec> out;
    for (const auto& t : json::parse(kTools))
      out.push_back({t["function"]["name"], t["function"]["parameters"]});
    return out;
  }

  static inline Engine* engine_ = nullptr;
  static inline std::shared_ptr<const TokenByteIndex>* index_ = nullptr;
};

}  // namespace

TEST_F(ConstrainedGeneration, RequiredChoiceAtHighTemperatureAlwaysGivesValidCalls) {
  auto dialect = make_tool_dialect(engine_->model().chat_template, engine_->model().architecture);
  const std::string prefix = dialect->forced_call_prefix(std::nullopt);
  // One call per reply: a complete call, then the end of the turn, every time.
  auto grammar = std::make_shared<ToolCallGrammar>(ToolCallGrammarOptions{
      dialect->call_format(), specs(), std::nullopt, ConstraintMode::Forced, false});
  auto replies = generate(prompt("What's the weather like in Paris, and what time is it in CET?") +
                              prefix,
                          50, 1.3f, [&] {
                            return std::make_shared<ReplyConstraint>(grammar, *index_, prefix);
                          });
  std::set<std::string> names;
  for (const auto& r : replies) {
    EXPECT_EQ(r.reason, FinishReason::Stop) << r.text;
    auto c = valid_calls(*dialect, prefix, r);
    EXPECT_EQ(c.size(), 1u) << r.text;
    for (const auto& [name, _] : c) names.insert(name);
  }
  EXPECT_FALSE(names.empty());
}

TEST_F(ConstrainedGeneration, NamedChoiceCallsThatFunction) {
  auto dialect = make_tool_dialect(engine_->model().chat_template, engine_->model().architecture);
  const std::string prefix = dialect->forced_call_prefix("get_time");
  auto grammar = std::make_shared<ToolCallGrammar>(ToolCallGrammarOptions{
      dialect->call_format(), specs(), "get_time", ConstraintMode::Forced, true});
  auto replies = generate(prompt("Weather in Oslo please.") + prefix, 6, 1.3f, [&] {
    return std::make_shared<ReplyConstraint>(grammar, *index_, prefix);
  });
  for (const auto& r : replies) {
    auto c = valid_calls(*dialect, prefix, r);
    ASSERT_GE(c.size(), 1u) << r.text;
    for (const auto& [name, _] : c) EXPECT_EQ(name, "get_time");
  }
}

TEST_F(ConstrainedGeneration, LazyConstraintKeepsCallsValidInAutoMode) {
  auto dialect = make_tool_dialect(engine_->model().chat_template, engine_->model().architecture);
  auto grammar = std::make_shared<ToolCallGrammar>(ToolCallGrammarOptions{
      dialect->call_format(), specs(), std::nullopt, ConstraintMode::Lazy, true});
  auto replies = generate(prompt("What's the weather like in Paris? Use celsius."), 10, 1.3f,
                          [&] { return std::make_shared<ReplyConstraint>(grammar, *index_); });
  int calls = 0;
  for (const auto& r : replies) {
    if (r.reason != FinishReason::Stop) continue;  // cut off by max_tokens in prose
    auto parser = dialect->make_parser();
    auto out = parser->feed(r.text);
    auto fin = parser->finish();
    EXPECT_TRUE(parser->warnings().empty()) << r.text;  // no malformed call came back as text
    calls += static_cast<int>(out.tool_calls.size() + fin.tool_calls.size());
  }
  EXPECT_GT(calls, 0);
}
