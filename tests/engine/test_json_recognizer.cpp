// The schema-following JSON recognizer: which texts it takes whole, where it refuses, and that
// copies of a state are independent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/constrained/json_recognizer.h"
#include "engine/constrained/json_schema.h"

using toolgate::engine::constrained::JsonRecognizer;
using toolgate::engine::constrained::SchemaNode;
using toolgate::engine::constrained::SchemaSet;
using toolgate::engine::constrained::NumberBounds;
using toolgate::engine::constrained::NumberPrefix;
using toolgate::engine::constrained::number_reachable;
using json = nlohmann::ordered_json;  // keeps the declared key order

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

TEST(JsonRecognizer, AcceptsObjectsWithKnownKeysInDeclaredOrderAndAnyLayout) {
  EXPECT_TRUE(accepts(kWeather, R"({"city": "Paris"})"));
  EXPECT_TRUE(accepts(kWeather, R"({"city":"Oslo","unit":"fahrenheit","days":3})"));
  EXPECT_TRUE(accepts(kWeather, "{\n  \"city\" : \"Rome\" ,\n  \"days\" : -2\n}"));
}

TEST(JsonRecognizer, KeysComeInTheDeclaredOrder) {
  // city (required) first; unit and days may be skipped but not reordered.
  EXPECT_TRUE(refuses_at(kWeather, R"({"unit":"fahrenheit","city":"Oslo"})", 2));
  EXPECT_TRUE(refuses_at(kWeather, R"({"city":"Oslo","days":3,"unit":"celsius"})", 23));
  json optional_first = json::parse(R"({"type":"object","properties":{
      "a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}},"required":["c"]})");
  EXPECT_TRUE(accepts(optional_first, R"({"a":1,"b":2,"c":3})"));
  EXPECT_TRUE(accepts(optional_first, R"({"b":2,"c":3})"));
  EXPECT_TRUE(accepts(optional_first, R"({"c":3})"));
  EXPECT_TRUE(refuses_at(optional_first, R"({"c":3,"a":1})", 6));  // nothing may follow c
}

TEST(JsonRecognizer, RequiredKeysMustAppearBeforeTheObjectCloses) {
  EXPECT_TRUE(refuses_at(kWeather, "{}", 1));
  EXPECT_TRUE(refuses_at(kWeather, R"({"unit": "celsius"})", 2));
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

TEST(JsonRecognizer, UnresolvableReferencesAcceptAnyValueThere) {
  json s = json::parse(R"({"type": "object", "properties": {"a": {"$ref": "#/defs/x"}},
    "required": ["a"]})");
  EXPECT_TRUE(accepts(s, R"({"a": [1, "x", {"y": true}]})"));
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

// ---- the keywords beyond plain types ------------------------------------------------------

namespace {

// Whether `text` is taken whole as a complete value of a (non-object-forced) schema: fed in
// two pieces at every split point, through a copy made at the split, with the same answer.
::testing::AssertionResult takes(const json& schema, std::string_view text, bool expect) {
  SchemaSet set;
  const SchemaNode* root = set.compile(schema);
  for (size_t split = 0; split <= text.size(); ++split) {
    JsonRecognizer r;
    r.start(root);
    bool ok = true;
    for (size_t i = 0; i < split && ok; ++i)
      ok = r.feed(static_cast<uint8_t>(text[i])) != JsonRecognizer::Result::Reject;
    JsonRecognizer copy = r;
    for (size_t i = split; i < text.size() && ok; ++i)
      ok = copy.feed(static_cast<uint8_t>(text[i])) != JsonRecognizer::Result::Reject;
    const bool whole = ok && copy.can_end();
    if (whole != expect)
      return ::testing::AssertionFailure()
             << "'" << text << "' " << (whole ? "taken" : "refused") << " at split " << split;
  }
  return ::testing::AssertionSuccess();
}

bool ok(const json& schema, std::string_view text) { return takes(schema, text, true); }
bool bad(const json& schema, std::string_view text) { return takes(schema, text, false); }

}  // namespace

TEST(JsonSchemaKeywords, AnyOfFollowsEveryAlternative) {
  json nullable = json::parse(R"({"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]})");
  EXPECT_TRUE(ok(nullable, R"("abc")"));
  EXPECT_TRUE(ok(nullable, "null"));
  EXPECT_TRUE(bad(nullable, R"("abcd")"));
  EXPECT_TRUE(bad(nullable, "1"));
  // Objects that share their first key and differ later.
  json shapes = json::parse(R"({"oneOf": [
      {"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},
       "required":["kind","r"],"additionalProperties":false},
      {"type":"object","properties":{"kind":{"const":"rect"},"w":{"type":"number"},
       "h":{"type":"number"}},"required":["kind","w","h"],"additionalProperties":false}]})");
  EXPECT_TRUE(ok(shapes, R"({"kind":"circle","r":2.5})"));
  EXPECT_TRUE(ok(shapes, R"({"kind": "rect", "w": 1, "h": 2})"));
  EXPECT_TRUE(bad(shapes, R"({"kind":"circle","w":1,"h":2})"));
  EXPECT_TRUE(bad(shapes, R"({"kind":"rect","r":2})"));
  // Type arrays are the same choice without branching.
  json either = json::parse(R"({"type": ["integer", "boolean"]})");
  EXPECT_TRUE(ok(either, "12"));
  EXPECT_TRUE(ok(either, "true"));
  EXPECT_TRUE(bad(either, "1.5"));
  json openapi = json::parse(R"({"type": "string", "nullable": true})");
  EXPECT_TRUE(ok(openapi, "null"));
  EXPECT_TRUE(ok(openapi, R"("x")"));
}

TEST(JsonSchemaKeywords, UnionsInsideArraysAndObjects) {
  json s = json::parse(R"({"type":"object","properties":{"items":{"type":"array",
      "items":{"anyOf":[{"type":"integer","minimum":0},{"type":"string","enum":["none","all"]}]}}},
      "required":["items"],"additionalProperties":false})");
  EXPECT_TRUE(ok(s, R"({"items":[1,"all",3,"none"]})"));
  EXPECT_TRUE(ok(s, R"({"items":[]})"));
  EXPECT_TRUE(bad(s, R"({"items":[-1]})"));
  EXPECT_TRUE(bad(s, R"({"items":["some"]})"));
}

TEST(JsonSchemaKeywords, LocalReferencesAndRecursion) {
  json tree = json::parse(R"({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
      "properties": {"name": {"type": "string"},
                     "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
      "required": ["name", "children"], "additionalProperties": false}}})");
  EXPECT_TRUE(ok(tree, R"({"name":"root","children":[]})"));
  EXPECT_TRUE(ok(tree,
      R"({"name":"a","children":[{"name":"b","children":[{"name":"c","children":[]}]},{"name":"d","children":[]}]})"));
  EXPECT_TRUE(bad(tree, R"({"name":"a","children":[{"name":"b"}]})"));
  EXPECT_TRUE(bad(tree, R"({"name":"a","children":[1]})"));
  // The root itself by '#', and definitions (draft 7).
  json list = json::parse(R"({"type":"object","properties":{"v":{"type":"integer"},
      "next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["v","next"],
      "additionalProperties":false})");
  EXPECT_TRUE(ok(list, R"({"v":1,"next":{"v":2,"next":null}})"));
  EXPECT_TRUE(bad(list, R"({"v":1,"next":{"v":"2","next":null}})"));
  json defs = json::parse(R"({"definitions":{"id":{"type":"integer"}},"type":"array",
      "items":{"$ref":"#/definitions/id"}})");
  EXPECT_TRUE(ok(defs, "[1,2,3]"));
  EXPECT_TRUE(bad(defs, R"([1,"2"])"));
}

TEST(JsonSchemaKeywords, SelfReferentialUnionsDoNotBranchForever) {
  json s = json::parse(R"({"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"},{"type":"string"}]}},
      "$ref":"#/$defs/a"})");
  EXPECT_TRUE(ok(s, R"("x")"));
  EXPECT_TRUE(bad(s, "1"));
}

TEST(JsonSchemaKeywords, PrefixItemsThenItems) {
  json pair = json::parse(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],
      "items":false})");
  EXPECT_TRUE(ok(pair, R"(["a",1])"));
  EXPECT_TRUE(ok(pair, R"(["a"])"));
  EXPECT_TRUE(bad(pair, R"(["a",1,2])"));
  EXPECT_TRUE(bad(pair, R"([1,"a"])"));
  json rest = json::parse(R"({"type":"array","prefixItems":[{"type":"string"}],
      "items":{"type":"boolean"},"minItems":2})");
  EXPECT_TRUE(ok(rest, R"(["a",true,false])"));
  EXPECT_TRUE(bad(rest, R"(["a"])"));
  EXPECT_TRUE(bad(rest, R"(["a",1])"));
}

TEST(JsonSchemaKeywords, IntegerBounds) {
  json s = json::parse(R"({"type":"integer","minimum":10,"maximum":20})");
  for (const char* v : {"10", "15", "20"}) EXPECT_TRUE(ok(s, v)) << v;
  for (const char* v : {"9", "21", "0", "-15", "100", "1"}) EXPECT_TRUE(bad(s, v)) << v;
  // The first digit that cannot lead into the range is refused at once.
  SchemaSet set;
  JsonRecognizer r;
  r.start(set.compile(s));
  JsonRecognizer a = r, b = r, c = r;
  EXPECT_EQ(a.feed('5'), JsonRecognizer::Result::Reject);   // 5, 50.., 500.. all miss
  EXPECT_EQ(b.feed('-'), JsonRecognizer::Result::Reject);
  EXPECT_NE(c.feed('1'), JsonRecognizer::Result::Reject);   // 10..19
  EXPECT_FALSE(c.can_end());                                 // 1 itself is too small
  json ex = json::parse(R"({"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":5})");
  for (const char* v : {"1", "4"}) EXPECT_TRUE(ok(ex, v)) << v;
  for (const char* v : {"0", "5", "-0"}) EXPECT_TRUE(bad(ex, v)) << v;
  json neg = json::parse(R"({"type":"integer","minimum":-30,"maximum":-10})");
  for (const char* v : {"-30", "-10", "-25"}) EXPECT_TRUE(ok(neg, v)) << v;
  for (const char* v : {"-31", "-9", "10", "0"}) EXPECT_TRUE(bad(neg, v)) << v;
}

TEST(JsonSchemaKeywords, NumberBounds) {
  json s = json::parse(R"({"type":"number","minimum":0.5,"exclusiveMaximum":1.5})");
  for (const char* v : {"0.5", "1", "1.0", "1.49", "0.75"}) EXPECT_TRUE(ok(s, v)) << v;
  for (const char* v : {"0.4", "1.5", "1.50", "2", "-1", "0"}) EXPECT_TRUE(bad(s, v)) << v;
  json pct = json::parse(R"({"type":"number","minimum":0,"maximum":100})");
  for (const char* v : {"0", "100", "99.9", "0.001", "100.0"}) EXPECT_TRUE(ok(pct, v)) << v;
  for (const char* v : {"100.01", "-0.1", "1e2", "101"}) EXPECT_TRUE(bad(pct, v)) << v;
  // The exact test compares doubles, as a JSON validator does: 0.1 >= 0.1.
  json tenth = json::parse(R"({"type":"number","minimum":0.1,"maximum":0.3})");
  for (const char* v : {"0.1", "0.3", "0.2"}) EXPECT_TRUE(ok(tenth, v)) << v;
  EXPECT_TRUE(bad(tenth, "0.31"));
}

TEST(JsonSchemaKeywords, NumberReachabilityMatchesBruteForce) {
  // Every integer prefix of up to 3 digits: reachable iff some integer of at most 4 digits with
  // that prefix lies in the bounds (budget 1 extra digit beyond the prefix).
  const NumberBounds b{37, 412, false, true};
  for (int prefix = 1; prefix < 1000; ++prefix) {
    const std::string p = std::to_string(prefix);
    const uint32_t budget = static_cast<uint32_t>(4 - p.size());
    bool expect = false;
    for (int v = 0; v < 10000 && !expect; ++v) {
      const std::string t = std::to_string(v);
      if (t.size() <= 4 && t.compare(0, p.size(), p) == 0 && v >= 37 && v < 412) expect = true;
    }
    EXPECT_EQ(number_reachable(b, true, false, static_cast<uint64_t>(prefix), 0,
                               NumberPrefix::Int, budget),
              expect)
        << p;
  }
}

TEST(JsonSchemaKeywords, RootScalarsEndWhereTheTextEnds) {
  EXPECT_TRUE(ok(json::parse(R"({"type":"integer"})"), "42"));
  EXPECT_TRUE(ok(json::parse(R"({"enum":[1,12]})"), "1"));
  EXPECT_TRUE(ok(json::parse(R"({"enum":[1,12]})"), "12"));
  EXPECT_TRUE(bad(json::parse(R"({"enum":[1,12]})"), "123"));
  EXPECT_TRUE(ok(json::parse(R"({"type":"boolean"})"), "false"));
  EXPECT_TRUE(bad(json::parse(R"({"type":"boolean"})"), "fals"));
}

TEST(JsonSchemaKeywords, PatternsMatchTheWholeString) {
  json sku = json::parse(R"({"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"})");
  EXPECT_TRUE(ok(sku, R"("ABC-1234")"));
  EXPECT_TRUE(bad(sku, R"("ABC-123")"));
  EXPECT_TRUE(bad(sku, R"("abc-1234")"));
  EXPECT_TRUE(bad(sku, R"("ABC-12345")"));
  // Escapes are decoded before the pattern sees them: \u0041 is 'A', \n is a newline.
  EXPECT_TRUE(ok(sku, R"("\u0041BC-1234")"));
  json lines = json::parse(R"({"type":"string","pattern":"^a\\nb$"})");
  EXPECT_TRUE(ok(lines, R"("a\nb")"));
  EXPECT_TRUE(bad(lines, R"("ab")"));
  // UTF-8: a lead byte no allowed character can start is refused at once.
  json accents = json::parse(R"({"type":"string","pattern":"^[a-zé]+$"})");
  EXPECT_TRUE(ok(accents, "\"caf\xC3\xA9\""));
  EXPECT_TRUE(bad(accents, "\"caf\xC3\xA8\""));  // è
  SchemaSet set;
  JsonRecognizer r;
  r.start(set.compile(accents));
  ASSERT_NE(r.feed('"'), JsonRecognizer::Result::Reject);
  JsonRecognizer emoji = r;
  EXPECT_EQ(emoji.feed(0xF0), JsonRecognizer::Result::Reject);  // no 4-byte character fits
  EXPECT_NE(r.feed(0xC3), JsonRecognizer::Result::Reject);       // é may still come
  EXPECT_EQ(r.feed('"'), JsonRecognizer::Result::Reject);        // but the string cannot end
}

TEST(JsonSchemaKeywords, FormatsFollowTheirRegex) {
  json date = json::parse(R"({"type":"string","format":"date"})");
  EXPECT_TRUE(ok(date, R"("2024-03-15")"));
  EXPECT_TRUE(bad(date, R"("2024-13-01")"));
  EXPECT_TRUE(bad(date, R"("2024-02-30")"));
  EXPECT_TRUE(bad(date, R"("15/03/2024")"));
  json uuid = json::parse(R"({"type":"string","format":"uuid"})");
  EXPECT_TRUE(ok(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_TRUE(bad(uuid, R"("123e4567e89b12d3a456426614174000")"));
  json ip = json::parse(R"({"type":"string","format":"ipv4"})");
  EXPECT_TRUE(ok(ip, R"("192.168.1.20")"));
  EXPECT_TRUE(bad(ip, R"("256.1.1.1")"));
  json email = json::parse(R"({"type":"string","format":"email"})");
  EXPECT_TRUE(ok(email, R"("ada.lovelace@example.org")"));
  EXPECT_TRUE(bad(email, R"("ada@")"));
  json dt = json::parse(R"({"type":"string","format":"date-time"})");
  EXPECT_TRUE(ok(dt, R"("2024-03-15T09:30:00Z")"));
  EXPECT_TRUE(bad(dt, R"("2024-03-15 09:30")"));
}

TEST(JsonSchemaKeywords, PatternStringsAreNotPlainStrings) {
  // The string-safe shortcut of the constraint must not apply inside a pattern.
  SchemaSet set;
  JsonRecognizer r;
  r.start(set.compile(json::parse(R"({"type":"string","pattern":"^[0-9]+$"})")));
  ASSERT_NE(r.feed('"'), JsonRecognizer::Result::Reject);
  EXPECT_FALSE(r.in_plain_string());
  JsonRecognizer plain;
  plain.start(set.compile(json::parse(R"({"type":"string"})")));
  ASSERT_NE(plain.feed('"'), JsonRecognizer::Result::Reject);
  EXPECT_TRUE(plain.in_plain_string());
}
