// The tool-call grammar around the JSON: dialect syntax, allowed names, forced and lazy modes.
// Texts the grammar accepts must also come out of the dialect's parser as calls.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/constrained/tool_call_grammar.h"
#include "engine/tool_dialect.h"

using namespace toolgate::engine;
using namespace toolgate::engine::constrained;
using json = nlohmann::json;

namespace {

std::vector<ToolSpec> tools() {
  return {
      {"get_weather", json::parse(R"({"type": "object", "properties": {
          "city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
          "required": ["city"]})")},
      {"get_time", json::parse(R"({"type": "object", "properties": {
          "zone": {"type": "string"}}, "required": ["zone"]})")},
      {"ping", nullptr},
  };
}

ToolCallGrammar grammar(const ToolDialect& d, ConstraintMode mode,
                        std::optional<std::string> only = std::nullopt, bool parallel = true) {
  return ToolCallGrammar(ToolCallGrammarOptions{d.call_format(), tools(), only, mode, parallel});
}

std::unique_ptr<ToolDialect> hermes() { return make_tool_dialect("<tool_call>", "qwen2"); }
std::unique_ptr<ToolDialect> llama3() { return make_tool_dialect("", "llama", "llama3_json"); }

// Bytes of `text` the state takes before refusing one (text.size() = all).
size_t accepted(ToolCallState state, std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i)
    if (!state.feed(static_cast<uint8_t>(text[i]))) return i;
  return text.size();
}

struct Parsed {
  std::string content;
  std::vector<std::pair<std::string, std::string>> calls;
};

Parsed parse(const ToolDialect& d, std::string_view prefix, std::string_view text) {
  auto p = d.make_parser();
  (void)p->feed(prefix);
  Parsed out;
  for (auto o : {p->feed(text), p->finish()}) {
    out.content += o.content;
    for (auto& c : o.tool_calls) {
      if (c.index >= static_cast<int>(out.calls.size())) out.calls.resize(c.index + 1);
      if (!c.name.empty()) out.calls[c.index].first = c.name;
      out.calls[c.index].second += c.arguments;
    }
  }
  return out;
}

const char* kCall =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

}  // namespace

TEST(ToolCallGrammar, ForcedHermesCallIsAcceptedAndParses) {
  auto d = hermes();
  auto g = grammar(*d, ConstraintMode::Forced);
  ToolCallState s(g);
  EXPECT_FALSE(s.can_end());
  ASSERT_TRUE(s.feed(d->forced_call_prefix(std::nullopt)));
  std::string rest = std::string(kCall).substr(d->forced_call_prefix(std::nullopt).size());
  EXPECT_EQ(accepted(s, rest), rest.size());
  ASSERT_TRUE(s.feed(rest));
  EXPECT_TRUE(s.can_end());
  EXPECT_EQ(s.calls_completed(), 1);
  Parsed p = parse(*d, "", kCall);
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].first, "get_weather");
  EXPECT_EQ(p.calls[0].second, R"({"city":"Paris"})");
}

TEST(ToolCallGrammar, TheReplyCannotEndInsideAForcedCall) {
  auto d = hermes();
  auto g = grammar(*d, ConstraintMode::Forced);
  ToolCallState s(g);
  const std::string call = kCall;
  for (size_t i = 0; i < call.size(); ++i) {
    EXPECT_FALSE(s.can_end()) << "after " << i << " bytes";
    ASSERT_TRUE(s.feed(static_cast<uint8_t>(call[i])));
  }
  EXPECT_TRUE(s.can_end());
}

TEST(ToolCallGrammar, OnlyDeclaredNamesAndTheirSchemasAreAccepted) {
  auto d = hermes();
  auto g = grammar(*d, ConstraintMode::Forced);
  ToolCallState s(g);
  const std::string head = "<tool_call>\n{\"name\": \"";
  EXPECT_EQ(accepted(s, head + "get_stock\""), head.size() + 4);  // "get_" is shared
  EXPECT_EQ(accepted(s, head + "get_time\", \"arguments\": {\"city\""),
            head.size() + 26);  // get_time has no "city"
  EXPECT_EQ(accepted(s, head + "ping\", \"arguments\": {\"any\": [1]}}"), head.size() + 33);
  // The arguments are always an object.
  EXPECT_EQ(accepted(s, head + "ping\", \"arguments\": \"{}\""), head.size() + 20);
}

TEST(ToolCallGrammar, NamedChoiceAllowsOnlyThatFunction) {
  auto d = hermes();
  auto g = grammar(*d, ConstraintMode::Forced, "get_time");
  ToolCallState s(g);
  ASSERT_TRUE(s.feed(d->forced_call_prefix("get_time")));
  EXPECT_EQ(accepted(s, "{\"zone\": \"UTC\"}}\n</tool_call>"), 29u);
  ToolCallState fresh(g);
  const std::string head = "<tool_call>\n{\"name\": \"get_";
  EXPECT_EQ(accepted(fresh, head + "weather"), head.size());
}

TEST(ToolCallGrammar, ParallelCallsFollowOnlyWhenAllowed) {
  auto d = hermes();
  const std::string two = std::string(kCall) + "\n" + kCall;
  auto parallel = grammar(*d, ConstraintMode::Forced);
  EXPECT_EQ(accepted(ToolCallState(parallel), two), two.size());
  EXPECT_EQ(parse(*d, "", two).calls.size(), 2u);
  auto single = grammar(*d, ConstraintMode::Forced, std::nullopt, /*parallel=*/false);
  EXPECT_EQ(accepted(ToolCallState(single), two), std::string(kCall).size() + 1);
  // Text after the call is refused either way.
  EXPECT_EQ(accepted(ToolCallState(parallel), std::string(kCall) + " Done"),
            std::string(kCall).size() + 1);
}

TEST(ToolCallGrammar, LazyLeavesTextFreeUntilACallStarts) {
  auto d = hermes();
  auto g = grammar(*d, ConstraintMode::Lazy);
  const std::string text = "I will check. a < b, {\"name\": \"nope\"} <tool <b>";
  ToolCallState s(g);
  EXPECT_EQ(accepted(s, text), text.size());
  ASSERT_TRUE(s.feed(text));
  EXPECT_TRUE(s.can_end());
  EXPECT_FALSE(s.in_call());
  // From the open tag on, the call is constrained.
  ToolCallState t = s;
  ASSERT_TRUE(t.feed("\n<tool_call>"));
  EXPECT_TRUE(t.in_call());
  EXPECT_FALSE(t.can_end());
  EXPECT_EQ(accepted(t, "\n{\"name\": \"nope\""), 11u);
  // And free again after it.
  ASSERT_TRUE(t.feed(std::string(kCall).substr(11)));
  EXPECT_FALSE(t.in_call());
  EXPECT_TRUE(t.can_end());
  EXPECT_TRUE(t.feed("\nAnything {\"name\" at all."));
}

TEST(ToolCallGrammar, LazyConstrainsABareCallWhereACallMayStand) {
  auto d = hermes();
  auto g = grammar(*d, ConstraintMode::Lazy);
  const std::string bare = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}";
  EXPECT_EQ(accepted(ToolCallState(g), "\n" + bare), bare.size() + 1);
  EXPECT_EQ(accepted(ToolCallState(g), "{\"name\": \"nope\""), 10u);
  EXPECT_EQ(accepted(ToolCallState(g), "{\"name\": \"get_weather\", \"arguments\": {\"town\""),
            39u);
  // JSON that is not a call stays text, and so does a call-like object after prose.
  const std::string other = "{\"answer\": 42} and {\"name\": \"nope\"}";
  EXPECT_EQ(accepted(ToolCallState(g), other), other.size());
  EXPECT_EQ(accepted(ToolCallState(g), "Sure: {\"name\": \"nope\"}"), 22u);
  // After a bare call another may follow.
  const std::string two = bare + "\n" + bare;
  EXPECT_EQ(accepted(ToolCallState(g), two), two.size());
  EXPECT_EQ(accepted(ToolCallState(g), bare + "\n{\"name\": \"x"), bare.size() + 11);
  EXPECT_EQ(parse(*d, "", two).calls.size(), 2u);
}

TEST(ToolCallGrammar, LazyConstrainsAFencedBareCall) {
  auto d = hermes();
  auto g = grammar(*d, ConstraintMode::Lazy);
  const std::string fenced =
      "```json\n{\n  \"name\": \"get_time\",\n  \"arguments\": {\"zone\": \"UTC\"}\n}\n```";
  EXPECT_EQ(accepted(ToolCallState(g), fenced), fenced.size());
  Parsed p = parse(*d, "", fenced);
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].second, R"({"zone":"UTC"})");
  // Once "name" is written, the rest must be a valid call: no single quotes, no bare words.
  EXPECT_EQ(accepted(ToolCallState(g), "```json\n{\n  \"name\": 'get_time'"), 20u);
  EXPECT_EQ(accepted(ToolCallState(g), "```\n{\"name\": get_time"), 13u);
  // Other fences stay text.
  const std::string code = "```python\n{\"name\": 1}\n```";
  EXPECT_EQ(accepted(ToolCallState(g), code), code.size());
}

TEST(ToolCallGrammar, Llama3CallsUseParameters) {
  auto d = llama3();
  auto g = grammar(*d, ConstraintMode::Forced);
  ToolCallState s(g);
  ASSERT_TRUE(s.feed(d->forced_call_prefix(std::nullopt)));
  const std::string rest = "get_time\", \"parameters\": {\"zone\": \"CET\"}}";
  EXPECT_EQ(accepted(s, rest), rest.size());
  EXPECT_EQ(accepted(s, "get_time\", \"arguments\""), 12u);
  Parsed p = parse(*d, "", "{\"name\": \"" + rest);
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].first, "get_time");
}

TEST(ToolCallGrammar, EveryDialectAcceptsItsOwnForcedPrefixes) {
  for (const char* name : {"hermes", "llama3_json", "generic"}) {
    auto d = make_tool_dialect("", "llama", name);
    auto g = grammar(*d, ConstraintMode::Forced);
    EXPECT_TRUE(ToolCallState(g).feed(d->forced_call_prefix(std::nullopt))) << name;
    auto named = grammar(*d, ConstraintMode::Forced, "get_time");
    EXPECT_TRUE(ToolCallState(named).feed(d->forced_call_prefix("get_time"))) << name;
  }
}

TEST(ToolCallGrammar, NeedsAToolToCall) {
  auto d = hermes();
  EXPECT_THROW(ToolCallGrammar(ToolCallGrammarOptions{d->call_format(), {}, std::nullopt,
                                                      ConstraintMode::Forced, true}),
               std::invalid_argument);
}
