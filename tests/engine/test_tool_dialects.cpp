// Tool-call dialect parsers. Every case is parsed whole, byte by byte and split in two at
// every byte boundary; all must agree.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/tool_dialect.h"
#include "test_paths.h"

using toolgate::engine::make_tool_dialect;
using toolgate::engine::ParserOutput;
using toolgate::engine::ToolCallParser;
using toolgate::engine::ToolDialect;

namespace {

struct Call {
  std::string name;
  std::string arguments;
  bool operator==(const Call&) const = default;
};

struct Result {
  std::string content;
  std::vector<Call> calls;
  size_t warnings = 0;
  bool operator==(const Result&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
  os << "content=" << ::testing::PrintToString(r.content) << " warnings=" << r.warnings << " calls=[";
  for (const auto& c : r.calls) os << c.name << " " << c.arguments << "; ";
  return os << "]";
}

void collect(const ParserOutput& out, Result& r) {
  r.content += out.content;
  for (const auto& d : out.tool_calls) {
    if (d.index >= static_cast<int>(r.calls.size())) r.calls.resize(static_cast<size_t>(d.index) + 1);
    auto& call = r.calls[static_cast<size_t>(d.index)];
    if (!d.name.empty()) {
      EXPECT_TRUE(call.name.empty()) << "name repeated on a later delta";
      call.name = d.name;
    }
    call.arguments += d.arguments;
  }
}

Result parse_pieces(const ToolDialect& dialect, const std::vector<std::string_view>& pieces,
                    const std::string& prime = "") {
  auto parser = dialect.make_parser();
  Result r;
  if (!prime.empty()) {
    ParserOutput primed = parser->feed(prime);
    EXPECT_TRUE(primed.content.empty() && primed.tool_calls.empty()) << "priming produced output";
  }
  for (auto p : pieces) collect(parser->feed(p), r);
  collect(parser->finish(), r);
  r.warnings = parser->warnings().size();
  for (const auto& c : r.calls) {
    EXPECT_FALSE(c.name.empty());
    EXPECT_FALSE(nlohmann::json::parse(c.arguments, nullptr, false).is_discarded()) << c.arguments;
  }
  return r;
}

// Parses `text` whole and in every split; checks they agree and returns the result.
Result parse_everywhere(const ToolDialect& dialect, std::string_view text, const std::string& prime = "") {
  Result whole = parse_pieces(dialect, {text}, prime);
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
  EXPECT_EQ(parse_pieces(dialect, bytes, prime), whole) << "byte by byte";
  for (size_t i = 0; i <= text.size(); ++i) {
    Result split = parse_pieces(dialect, {text.substr(0, i), text.substr(i)}, prime);
    EXPECT_EQ(split, whole) << "split at " << i;
    if (split != whole) break;
  }
  return whole;
}

std::unique_ptr<ToolDialect> dialect(const char* name) { return make_tool_dialect("", "", name); }

Result hermes(std::string_view text) { return parse_everywhere(*dialect("hermes"), text); }
Result llama(std::string_view text) { return parse_everywhere(*dialect("llama3_json"), text); }
Result generic(std::string_view text) { return parse_everywhere(*dialect("generic"), text); }

std::string read_template(const std::string& name) {
  std::ifstream f(toolgate::testing::testdata_dir() / "templates" / (name + ".jinja"));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

// ---- hermes ----

TEST(HermesToolParser, PlainTextIsContent) {
  EXPECT_EQ(hermes("Hello, world!\nHow are you?"), (Result{"Hello, world!\nHow are you?", {}, 0}));
}

TEST(HermesToolParser, SingleCallWithNewlinesAroundTheJson) {
  EXPECT_EQ(hermes("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>"),
            (Result{"", {{"get_weather", R"({"city":"Paris","days":2})"}}, 0}));
}

TEST(HermesToolParser, TwoParallelCalls) {
  EXPECT_EQ(hermes("<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n"
                   "<tool_call>\n{\"arguments\": {\"y\": [1, 2]}, \"name\": \"b\"}\n</tool_call>\n"),
            (Result{"", {{"a", R"({"x":1})"}, {"b", R"({"y":[1,2]})"}}, 0}));
}

TEST(HermesToolParser, ContentBeforeTheCall) {
  EXPECT_EQ(hermes("Let me check the weather.\n\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {}}</tool_call>"),
            (Result{"Let me check the weather.", {{"get_weather", "{}"}}, 0}));
}

TEST(HermesToolParser, BrokenJsonBecomesContentWithAWarning) {
  std::string text = "<tool_call>\n{\"name\": \"x\", \"arguments\": {\"a\": }}\n</tool_call>";
  EXPECT_EQ(hermes(text), (Result{text, {}, 1}));
  std::string unbalanced = "<tool_call>\n{\"name\": \"x\", \"arguments\": {\"a\": 1}\n</tool_call> more";
  EXPECT_EQ(hermes(unbalanced), (Result{unbalanced, {}, 1}));
  std::string not_a_call = "<tool_call>\n{\"city\": \"Paris\"}\n</tool_call>";
  EXPECT_EQ(hermes(not_a_call), (Result{not_a_call, {}, 1}));
  std::string no_json = "<tool_call>get_weather(city='Paris')</tool_call>";
  EXPECT_EQ(hermes(no_json), (Result{no_json, {}, 1}));
}

TEST(HermesToolParser, UnterminatedCallAtEndOfGenerationBecomesContent) {
  std::string text = "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par";
  EXPECT_EQ(hermes(text), (Result{text, {}, 1}));
  EXPECT_EQ(hermes("<tool_call>"), (Result{"<tool_call>", {}, 1}));
}

TEST(HermesToolParser, LookAlikeTagsAreContent) {
  std::string text = "Use <tool> or <tool_callx> or <tool_cal and </tool_call> here <tool_";
  EXPECT_EQ(hermes(text), (Result{text, {}, 0}));
}

TEST(HermesToolParser, ClosingTagInsideAnArgumentStringDoesNotEndTheCall) {
  EXPECT_EQ(hermes("<tool_call>\n{\"name\": \"echo\", \"arguments\": {\"text\": \"</tool_call> and <tool_call> \\\"}\"}}\n</tool_call>"),
            (Result{"", {{"echo", R"({"text":"</tool_call> and <tool_call> \"}"})"}}, 0}));
}

TEST(HermesToolParser, StringArgumentsHoldingAnObjectAreAccepted) {
  EXPECT_EQ(hermes("<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": \\\"é\\\"}\"}</tool_call>"),
            (Result{"", {{"f", R"({"a":"é"})"}}, 0}));
}

TEST(HermesToolParser, MissingCloseTagKeepsTheCallAndWarns) {
  EXPECT_EQ(hermes("<tool_call>{\"name\": \"f\", \"arguments\": {}}\nDone."), (Result{"Done.", {{"f", "{}"}}, 1}));
  EXPECT_EQ(hermes("<tool_call>{\"name\": \"f\", \"arguments\": {}}\n</tool"), (Result{"", {{"f", "{}"}}, 0}));
}

TEST(HermesToolParser, ForcedPrefixPrimesTheParser) {
  auto d = dialect("hermes");
  EXPECT_EQ(d->forced_call_prefix(std::nullopt), "<tool_call>\n{\"name\": \"");
  EXPECT_EQ(d->forced_call_prefix("get_weather"), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": ");
  EXPECT_EQ(parse_everywhere(*d, "get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>",
                             d->forced_call_prefix(std::nullopt)),
            (Result{"", {{"get_weather", R"({"city":"Oslo"})"}}, 0}));
  EXPECT_EQ(parse_everywhere(*d, "{\"city\": \"Oslo\"}}\n</tool_call>", d->forced_call_prefix("get_weather")),
            (Result{"", {{"get_weather", R"({"city":"Oslo"})"}}, 0}));
}

TEST(HermesToolParser, DeltasCarryIndexAndNameOnce) {
  auto parser = dialect("hermes")->make_parser();
  auto out = parser->feed("<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call><tool_call>{\"name\": ");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].index, 0);
  // A call is emitted as soon as its JSON object is complete.
  out = parser->feed("\"b\"}");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].index, 1);
  EXPECT_EQ(out.tool_calls[0].name, "b");
  EXPECT_EQ(out.tool_calls[0].arguments, "{}");
}

TEST(HermesToolParser, ContentIsReleasedAsSoonAsItIsSafe) {
  auto parser = dialect("hermes")->make_parser();
  EXPECT_EQ(parser->feed("Hello <to").content, "Hello");
  EXPECT_EQ(parser->feed("day> x").content, " <today> x");
}

// Qwen2.5-Coder often writes its calls without the tags, bare or in a ```json fence.
TEST(HermesToolParser, FencedJsonCallWithoutTagsIsACall) {
  EXPECT_EQ(hermes("```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n```"),
            (Result{"", {{"get_weather", R"({"city":"Paris"})"}}, 0}));
  EXPECT_EQ(hermes("\n```\n{\"name\": \"f\", \"arguments\": {}}\n```\n"), (Result{"", {{"f", "{}"}}, 0}));
}

TEST(HermesToolParser, BareJsonCallWithoutTagsIsACall) {
  EXPECT_EQ(hermes("{\"name\": \"add\", \"arguments\": {\"a\": 3, \"b\": 5}}"),
            (Result{"", {{"add", R"({"a":3,"b":5})"}}, 0}));
  EXPECT_EQ(hermes(" \n{\"name\": \"f\", \"parameters\": {\"x\": 1}}\n"), (Result{"", {{"f", R"({"x":1})"}}, 0}));
}

TEST(HermesToolParser, SeveralUntaggedCallsInARow) {
  EXPECT_EQ(hermes("```json\n{\"name\": \"a\", \"arguments\": {}}\n```\n```json\n{\"name\": \"b\", \"arguments\": {\"k\": 1}}\n```"),
            (Result{"", {{"a", "{}"}, {"b", R"({"k":1})"}}, 0}));
  EXPECT_EQ(hermes("```json\n[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {}}]\n```"),
            (Result{"", {{"a", "{}"}, {"b", "{}"}}, 0}));
  EXPECT_EQ(hermes("<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n{\"name\": \"b\", \"arguments\": {}}"),
            (Result{"", {{"a", "{}"}, {"b", "{}"}}, 0}));
}

TEST(HermesToolParser, UntaggedCallWithItsClosingFenceCutOffStands) {
  EXPECT_EQ(hermes("```json\n{\"name\": \"f\", \"arguments\": {}}\n`"), (Result{"", {{"f", "{}"}}, 0}));
}

TEST(HermesToolParser, JsonAndFencesThatAreNotCallsAreContent) {
  for (std::string text : {"{\"city\": \"Paris\"}", "{42} is a set", "```python\nprint(1)\n```", "`x` is a variable",
                           "[1, 2, 3]", "```json\n{\"name\": 1}\n```"}) {
    EXPECT_EQ(hermes(text), (Result{text, {}, 0})) << text;
  }
}

TEST(HermesToolParser, FencedJsonAfterProseIsContent) {
  // Only a call standing alone counts; a code model's example in its answer is not a call.
  std::string text = "Here is an example:\n```json\n{\"name\": \"f\", \"arguments\": {}}\n```";
  EXPECT_EQ(hermes(text), (Result{text, {}, 0}));
}

TEST(HermesToolParser, BrokenOrUnterminatedUntaggedCallsBecomeContentWithAWarning) {
  std::string broken = "```json\n{\"name\": \"f\", \"arguments\": {\"a\": }}\n```";
  EXPECT_EQ(hermes(broken), (Result{broken, {}, 1}));
  std::string cut = "```json\n{\"name\": \"f\", \"arguments\": {\"a\": 1";
  EXPECT_EQ(hermes(cut), (Result{cut, {}, 1}));
}

TEST(HermesToolParser, TagAfterRefusedUntaggedTextIsStillACall) {
  EXPECT_EQ(hermes("{oops} <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>"),
            (Result{"{oops}", {{"f", "{}"}}, 0}));
}

TEST(HermesToolParser, PossibleUntaggedCallIsHeldBackUntilDecided) {
  auto parser = dialect("hermes")->make_parser();
  EXPECT_EQ(parser->feed("{\"city\": ").content, "");
  EXPECT_EQ(parser->feed("\"Paris\"} is JSON").content, "{\"city\": \"Paris\"} is JSON");
}

// A model told to repeat '[' can nest a call deeper than nlohmann::json's recursive copy and
// print survive; past JsonValueScanner::kMaxDepth the call is content with a warning.
TEST(HermesToolParser, CallNestedPastTheDepthLimitBecomesContent) {
  const std::string brackets = std::string(200'000, '[') + std::string(200'000, ']');
  for (const std::string& text :
       {"<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": " + brackets + "}}</tool_call>",
        "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": " + brackets + "}\"}</tool_call>"}) {
    auto parser = dialect("hermes")->make_parser();
    ParserOutput a = parser->feed(text), b = parser->finish();
    EXPECT_TRUE(a.tool_calls.empty() && b.tool_calls.empty());
    EXPECT_EQ(a.content + b.content, text);
    EXPECT_EQ(parser->warnings().size(), 1u);
  }
  const std::string within = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(hermes("<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": " + within + "}}</tool_call>"),
            (Result{"", {{"f", "{\"x\":" + within + "}"}}, 0}));
}

// ---- llama3_json ----

TEST(Llama3JsonToolParser, BareJsonCall) {
  EXPECT_EQ(llama("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"),
            (Result{"", {{"get_weather", R"({"city":"Paris"})"}}, 0}));
}

TEST(Llama3JsonToolParser, CallAfterPythonTag) {
  EXPECT_EQ(llama("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"),
            (Result{"", {{"get_weather", R"({"city":"Paris"})"}}, 0}));
}

TEST(Llama3JsonToolParser, TwoCallsSeparatedBySemicolon) {
  EXPECT_EQ(llama("{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"arguments\": {\"k\": true}}\n"),
            (Result{"", {{"a", "{}"}, {"b", R"({"k":true})"}}, 0}));
}

TEST(Llama3JsonToolParser, ContentBeforePythonTag) {
  EXPECT_EQ(llama("Let me look. <|python_tag|>{\"name\": \"f\", \"parameters\": {\"q\": \"x\"}}"),
            (Result{"Let me look. ", {{"f", R"({"q":"x"})"}}, 0}));
}

TEST(Llama3JsonToolParser, JsonThatIsNotACallIsContent) {
  EXPECT_EQ(llama("{\"answer\": 42}"), (Result{"{\"answer\": 42}", {}, 0}));
  EXPECT_EQ(llama("Hello {\"name\": \"f\", \"parameters\": {}}"), (Result{"Hello {\"name\": \"f\", \"parameters\": {}}", {}, 0}));
}

TEST(Llama3JsonToolParser, BrokenAndUnterminatedJsonBecomeContentWithAWarning) {
  EXPECT_EQ(llama("{\"name\": \"f\", \"parameters\": {\"a\": ]}"), (Result{"{\"name\": \"f\", \"parameters\": {\"a\": ]}", {}, 1}));
  EXPECT_EQ(llama("{\"name\": \"f\", \"parameters\": {\"a\": 1"), (Result{"{\"name\": \"f\", \"parameters\": {\"a\": 1", {}, 1}));
  EXPECT_EQ(llama("<|python_tag|>brave_search.call(query=\"x\")"), (Result{"<|python_tag|>brave_search.call(query=\"x\")", {}, 1}));
}

TEST(Llama3JsonToolParser, LookAlikeTagIsContent) {
  EXPECT_EQ(llama("a <|python_ b <|python_tag| c"), (Result{"a <|python_ b <|python_tag| c", {}, 0}));
}

TEST(Llama3JsonToolParser, ForcedPrefix) {
  auto d = dialect("llama3_json");
  EXPECT_EQ(d->forced_call_prefix("f"), "{\"name\": \"f\", \"parameters\": ");
  EXPECT_EQ(parse_everywhere(*d, "{\"x\": 1}}", d->forced_call_prefix("f")), (Result{"", {{"f", R"({"x":1})"}}, 0}));
  EXPECT_EQ(parse_everywhere(*d, "g\", \"parameters\": {}}", d->forced_call_prefix(std::nullopt)),
            (Result{"", {{"g", "{}"}}, 0}));
}

// ---- generic ----

TEST(GenericToolParser, WholeReplyJsonCall) {
  EXPECT_EQ(generic("  {\"name\": \"f\", \"arguments\": {\"x\": 1}}\n"), (Result{"", {{"f", R"({"x":1})"}}, 0}));
}

TEST(GenericToolParser, FencedJsonCall) {
  EXPECT_EQ(generic("```json\n{\"name\": \"f\", \"arguments\": {}}\n```"), (Result{"", {{"f", "{}"}}, 0}));
  EXPECT_EQ(generic("```\n[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"z\": null}}]\n```"),
            (Result{"", {{"a", "{}"}, {"b", R"({"z":null})"}}, 0}));
}

TEST(GenericToolParser, OtherRepliesAreContent) {
  EXPECT_EQ(generic("The answer is {42}."), (Result{"The answer is {42}.", {}, 0}));
  EXPECT_EQ(generic("{\"city\": \"Paris\"}"), (Result{"{\"city\": \"Paris\"}", {}, 0}));
  EXPECT_EQ(generic("```python\nprint(1)\n```"), (Result{"```python\nprint(1)\n```", {}, 0}));
  EXPECT_EQ(generic("`x` is a variable"), (Result{"`x` is a variable", {}, 0}));
}

TEST(GenericToolParser, BrokenAndUnterminatedJsonBecomeContentWithAWarning) {
  EXPECT_EQ(generic("{\"name\": \"f\", \"arguments\": {\"a\": }}"), (Result{"{\"name\": \"f\", \"arguments\": {\"a\": }}", {}, 1}));
  EXPECT_EQ(generic("```json\n{\"name\": \"f\""), (Result{"```json\n{\"name\": \"f\"", {}, 1}));
}

TEST(GenericToolParser, TextAfterTheCallIsContent) {
  EXPECT_EQ(generic("{\"name\": \"f\", \"arguments\": {}}\nDone"), (Result{"Done", {{"f", "{}"}}, 0}));
}

// ---- choosing a dialect ----

TEST(ToolDialectFactory, ChoosesFromTheTemplate) {
  EXPECT_EQ(make_tool_dialect(read_template("Qwen-Qwen2.5-7B-Instruct"), "qwen2")->name(), "hermes");
  EXPECT_EQ(make_tool_dialect(read_template("Qwen-Qwen3-0.6B"), "qwen3")->name(), "hermes");
  EXPECT_EQ(make_tool_dialect(read_template("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use"), "llama")->name(), "hermes");
  EXPECT_EQ(make_tool_dialect(read_template("meta-llama-Llama-3.1-8B-Instruct"), "llama")->name(), "llama3_json");
  EXPECT_EQ(make_tool_dialect(read_template("meta-llama-Llama-3.2-3B-Instruct"), "llama")->name(), "llama3_json");
  EXPECT_EQ(make_tool_dialect("{% for m in messages %}<|im_start|>{% endfor %}", "llama")->name(), "generic");
  EXPECT_EQ(make_tool_dialect("", "qwen2")->name(), "hermes");
}

TEST(ToolDialectFactory, OverrideWinsAndUnknownNamesAreRejected) {
  EXPECT_EQ(make_tool_dialect(read_template("Qwen-Qwen2.5-7B-Instruct"), "qwen2", "generic")->name(), "generic");
  EXPECT_THROW(make_tool_dialect("", "", "mistral"), std::invalid_argument);
}
