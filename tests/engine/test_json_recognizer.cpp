// The schema-following JSON recognizer: which texts it takes whole, where it refuses, and that
// copies of a state are independent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/constrained/json_recognizer.h"
#include "engine/constrained/json_schema.h"

using toolgate::engine::constrained::JsonRecognizer;
using toolgate::engine::constrained::SchemaNode;
using toolgate::engine::constrained::SchemaSet;
using json = nlohmann::json;

namespace {

// How far a text gets: the number of bytes accepted, and whether the root value closed.
struct Outcome {
  size_t accepted = 0;
  bool complete = false;
};

Outcome run(const json& schema, std::string_view text) {
  SchemaSet set;
  const SchemaNode* root = schema.value("type", "") == "array" ? set.compile(schema)
                                                               : set.compile_object(schema);
  JsonRecognizer r;
  r.start(root);
  Outcome out;
  for (char c : text) {
    auto res = r.feed(static_cast<uint8_t>(c));
    if (res == JsonRecognizer::Result::Reject) return out;
    ++out.accepted;
    out.complete = res == JsonRecognizer::Result::Complete;
  }
  return out;
}

bool accepts(const json& schema, std::string_view text) {
  Outcome o = run(schema, text);
  return o.accepted == text.size() && o.complete;
}

// Refused exactly at byte `at` (0-based) of the text.
::testing::AssertionResult refuses_at(const json& schema, std::string_view text, size_t at) {
  Outcome o = run(schema, text);
  if (o.accepted == at) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "accepted " << o.accepted << " bytes of '" << text
                                       << "', expected refusal at byte " << at;
}

const json kWeather = json::parse(R"({
  "type": "object",
  "properties": {
    "city": {"type": "string"},
    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    "days": {"type": "integer"}
  },
  "required": ["city"]
})");

}  // namespace

TEST(JsonRecognizer, AcceptsObjectsWithKnownKeysInAnyOrderAndLayout) {
  EXPECT_TRUE(accepts(kWeather, R"({"city": "Paris"})"));
  EXPECT_TRUE(accepts(kWeather, R"({"unit":"fahrenheit","city":"Oslo","days":3})"));
  EXPECT_TRUE(accepts(kWeather, "{\n  \"city\" : \"Rome\" ,\n  \"days\" : -2\n}"));
}

TEST(JsonRecognizer, RequiredKeysMustAppearBeforeTheObjectCloses) {
  EXPECT_TRUE(refuses_at(kWeather, "{}", 1));
  EXPECT_TRUE(refuses_at(kWeather, R"({"unit": "celsius"})", 18));
}

TEST(JsonRecognizer, UndeclaredKeysAreRefusedUnlessAdditionalPropertiesAllowsThem) {
  EXPECT_TRUE(refuses_at(kWeather, R"({"town": "x"})", 2));  // no declared key starts with t
  EXPECT_TRUE(refuses_at(kWeather, R"({"cityx": 1})", 6));
  json open = kWeather;
  open["additionalProperties"] = true;
  EXPECT_TRUE(accepts(open, R"({"city": "a", "extra": [1, {"x": null}], "town": "b"})"));
  json typed = kWeather;
  typed["additionalProperties"] = {{"type", "integer"}};
  EXPECT_TRUE(accepts(typed, R"({"city": "a", "n": 5})"));
  EXPECT_TRUE(refuses_at(typed, R"({"city": "a", "n": "5"})", 19));
  // An object with no declared properties takes any keys.
  EXPECT_TRUE(accepts(json{{"type", "object"}}, R"({"anything": {"goes": [true]}})"));
}

TEST(JsonRecognizer, RepeatedKeysAreRefused) {
  // Without other keys allowed, a used key cannot even be begun again.
  EXPECT_TRUE(refuses_at(kWeather, R"({"city": "a", "city": "b"})", 15));
  json open = kWeather;
  open["additionalProperties"] = true;
  EXPECT_TRUE(refuses_at(open, R"({"city": "a", "city": "b"})", 19));
}

TEST(JsonRecognizer, NoCommaWhenNoKeyIsLeftToWrite) {
  json one = {{"type", "object"},
              {"properties", {{"a", {{"type", "integer"}}}}},
              {"additionalProperties", false}};
  EXPECT_TRUE(accepts(one, R"({"a": 1})"));
  EXPECT_TRUE(refuses_at(one, R"({"a": 1, )", 7));
}

TEST(JsonRecognizer, ValuesFollowTheirPropertyType) {
  EXPECT_TRUE(refuses_at(kWeather, R"({"city": 5})", 9));
  EXPECT_TRUE(refuses_at(kWeather, R"({"city": "a", "days": 1.5})", 23));
  EXPECT_TRUE(refuses_at(kWeather, R"({"city": "a", "days": "3"})", 22));
}

TEST(JsonRecognizer, EnumsAcceptOnlyTheirValues) {
  EXPECT_TRUE(accepts(kWeather, R"({"city": "a", "unit": "celsius"})"));
  EXPECT_TRUE(refuses_at(kWeather, R"({"city": "a", "unit": "kelvin"})", 23));
  EXPECT_TRUE(refuses_at(kWeather, R"({"city": "a", "unit": "celsiuss"})", 30));
  json mixed = {{"type", "object"},
                {"properties", {{"v", {{"enum", {1, 10, "x", nullptr}}}}}}};
  for (const char* ok : {R"({"v": 1})", R"({"v": 10})", R"({"v":"x"})", R"({"v": null})"})
    EXPECT_TRUE(accepts(mixed, ok)) << ok;
  EXPECT_TRUE(refuses_at(mixed, R"({"v": 2})", 6));
  EXPECT_TRUE(refuses_at(mixed, R"({"v": 100})", 8));
  json constant = {{"type", "object"}, {"properties", {{"k", {{"const", "fixed"}}}}}};
  EXPECT_TRUE(accepts(constant, R"({"k": "fixed"})"));
  EXPECT_TRUE(refuses_at(constant, R"({"k": "fix"})", 10));
}

TEST(JsonRecognizer, NumbersFollowTheJsonGrammar) {
  json num = {{"type", "object"}, {"properties", {{"n", {{"type", "number"}}}}}};
  for (const char* ok : {"0", "-0", "12", "1.5", "-0.25e-3", "3E+10", "7e2"})
    EXPECT_TRUE(accepts(num, std::string(R"({"n": )") + ok + "}")) << ok;
  for (const char* bad : {"01", "1.", ".5", "+1", "1e", "--1", "1.2.3", "1e+"}) {
    std::string text = std::string(R"({"n": )") + bad + "}";
    EXPECT_FALSE(accepts(num, text)) << bad;
  }
  json integer = {{"type", "object"}, {"properties", {{"n", {{"type", "integer"}}}}}};
  EXPECT_TRUE(accepts(integer, R"({"n": -42})"));
  EXPECT_FALSE(accepts(integer, R"({"n": 4.0})"));
  EXPECT_FALSE(accepts(integer, R"({"n": 4e1})"));
}

TEST(JsonRecognizer, NumbersStayShortEnoughToParseExactly) {
  json integer = {{"type", "object"}, {"properties", {{"n", {{"type", "integer"}}}}}};
  EXPECT_TRUE(accepts(integer, R"({"n": 123456789012345678})"));       // 18 digits
  EXPECT_TRUE(refuses_at(integer, R"({"n": 1234567890123456789})", 24));  // the 19th
  json num = {{"type", "object"}, {"properties", {{"n", {{"type", "number"}}}}}};
  EXPECT_TRUE(accepts(num, R"({"n": 1e99})"));
  EXPECT_TRUE(refuses_at(num, R"({"n": 1e999})", 10));
}

TEST(JsonRecognizer, BooleansAndNull) {
  json s = {{"type", "object"},
            {"properties", {{"b", {{"type", "boolean"}}}, {"z", {{"type", {"null", "integer"}}}}}}};
  EXPECT_TRUE(accepts(s, R"({"b": true, "z": null})"));
  EXPECT_TRUE(accepts(s, R"({"b": false, "z": 3})"));
  EXPECT_TRUE(refuses_at(s, R"({"b": tru})", 9));
  EXPECT_TRUE(refuses_at(s, R"({"b": null})", 6));
  EXPECT_TRUE(refuses_at(s, R"({"z": "3"})", 6));
}

TEST(JsonRecognizer, ArraysFollowItemsAndCounts) {
  json s = {{"type", "object"},
            {"properties",
             {{"tags",
               {{"type", "array"},
                {"items", {{"type", "string"}}},
                {"minItems", 1},
                {"maxItems", 2}}}}}};
  EXPECT_TRUE(accepts(s, R"({"tags": ["a"]})"));
  EXPECT_TRUE(accepts(s, R"({"tags": [ "a" , "b" ]})"));
  EXPECT_TRUE(refuses_at(s, R"({"tags": []})", 10));
  EXPECT_TRUE(refuses_at(s, R"({"tags": ["a", "b", "c"]})", 18));
  EXPECT_TRUE(refuses_at(s, R"({"tags": [1]})", 10));
}

TEST(JsonRecognizer, NestedObjectsFollowTheirOwnSchemas) {
  json s = json::parse(R"({"type": "object", "properties": {
      "event": {"type": "object", "properties": {
          "title": {"type": "string"},
          "when": {"type": "object", "properties": {"day": {"type": "integer"}}, "required": ["day"]}},
        "required": ["title", "when"]}},
    "required": ["event"]})");
  EXPECT_TRUE(accepts(s, R"({"event": {"title": "x", "when": {"day": 3}}})"));
  EXPECT_TRUE(refuses_at(s, R"({"event": {"title": "x", "when": {}}})", 34));
  EXPECT_TRUE(refuses_at(s, R"({"event": {"title": "x"}})", 23));
}

TEST(JsonRecognizer, UnsupportedKeywordsAcceptAnyValueThere) {
  json s = json::parse(R"({"type": "object", "properties": {
      "a": {"$ref": "#/defs/x"},
      "b": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
      "c": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
    "required": ["a"]})");
  EXPECT_TRUE(accepts(s, R"({"a": [1, "x", {"y": true}], "b": 2.5, "c": {"z": []}})"));
  EXPECT_TRUE(accepts(s, R"({"a": "s"})"));
  EXPECT_TRUE(refuses_at(s, R"({"a": tx})", 7));  // still JSON
}

TEST(JsonRecognizer, StringsAreValidJsonStringsOfValidUtf8) {
  json s = {{"type", "object"}, {"properties", {{"s", {{"type", "string"}}}}}};
  EXPECT_TRUE(accepts(s, R"({"s": "a\"b\\c\/\n\u00e9"})"));
  EXPECT_TRUE(accepts(s, "{\"s\": \"caf\xC3\xA9 \xF0\x9F\xA6\x99 \xE2\x9C\x85\"}"));
  EXPECT_TRUE(refuses_at(s, R"({"s": "\x"})", 8));
  EXPECT_TRUE(refuses_at(s, "{\"s\": \"a\nb\"}", 8));           // raw control byte
  EXPECT_TRUE(refuses_at(s, "{\"s\": \"\xFF\"}", 7));            // never valid in UTF-8
  EXPECT_TRUE(refuses_at(s, "{\"s\": \"\xC3\"}", 8));            // cut-off sequence
  EXPECT_TRUE(refuses_at(s, "{\"s\": \"\xED\xA0\x80\"}", 8));    // encoded surrogate
  EXPECT_TRUE(refuses_at(s, R"({"s": "\ud83d"})", 10));          // lone surrogate escape
  EXPECT_TRUE(accepts(s, R"({"s": "\uD7FF"})"));
}

TEST(JsonRecognizer, StringLengthsCountCodePoints) {
  json s = {{"type", "object"},
            {"properties", {{"s", {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}}}}}};
  EXPECT_TRUE(accepts(s, R"({"s": "ab"})"));
  EXPECT_TRUE(accepts(s, "{\"s\": \"\xC3\xA9\xC3\xA9\xC3\xA9\"}"));
  EXPECT_TRUE(refuses_at(s, R"({"s": "a"})", 8));
  EXPECT_TRUE(refuses_at(s, R"({"s": "abcd"})", 10));
}

TEST(JsonRecognizer, WhitespaceRunsAreBounded) {
  std::string ok = "{" + std::string(JsonRecognizer::kMaxWhitespace, ' ') + "\"city\": \"x\"}";
  EXPECT_TRUE(accepts(kWeather, ok));
  std::string long_run = "{" + std::string(JsonRecognizer::kMaxWhitespace + 1, ' ');
  EXPECT_TRUE(refuses_at(kWeather, long_run, JsonRecognizer::kMaxWhitespace + 1));
}

TEST(JsonRecognizer, DeepAnyValuesStopAtTheDepthLimit) {
  json s = {{"type", "object"}, {"properties", {{"a", json::object()}}}};
  std::string text = R"({"a": )";
  for (int i = 0; i < JsonRecognizer::kMaxDepth - 2; ++i) text += "[";
  EXPECT_EQ(run(s, text).accepted, text.size());
  EXPECT_TRUE(refuses_at(s, text + "[", text.size()));
}

TEST(JsonRecognizer, CopiesContinueIndependently) {
  SchemaSet set;
  const SchemaNode* root = set.compile_object(kWeather);
  const std::string text = R"({"city": "Pa\u00e9ris", "unit": "celsius", "days": 12})";
  JsonRecognizer whole;
  whole.start(root);
  for (size_t split = 0; split <= text.size(); ++split) {
    JsonRecognizer r;
    r.start(root);
    for (size_t i = 0; i < split; ++i) ASSERT_NE(r.feed(text[i]), JsonRecognizer::Result::Reject);
    JsonRecognizer copy = r;
    ASSERT_NE(r.feed('#'), JsonRecognizer::Result::Complete);  // spoil the original
    JsonRecognizer::Result last = JsonRecognizer::Result::Accept;
    for (size_t i = split; i < text.size(); ++i) {
      last = copy.feed(static_cast<uint8_t>(text[i]));
      ASSERT_NE(last, JsonRecognizer::Result::Reject) << "split " << split << " byte " << i;
    }
    if (split < text.size()) {
      EXPECT_EQ(last, JsonRecognizer::Result::Complete);
    }
  }
}
