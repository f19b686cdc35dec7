// The schema compiler's reports: what is refused as invalid, relaxed as unsupported, or cut at
// the limits, each with the keyword's path (the gateway turns these into 400s naming the
// parameter).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/constrained/compiled_schema.h"
#include "engine/constrained/json_schema.h"

using toolgate::engine::constrained::compile_schema;
using toolgate::engine::constrained::SchemaCache;
using toolgate::engine::constrained::SchemaIssue;
using toolgate::engine::constrained::SchemaLimits;
using toolgate::engine::constrained::SchemaSet;
using json = nlohmann::ordered_json;

namespace {

std::vector<SchemaIssue> issues_of(const char* text, SchemaLimits limits = {}) {
  SchemaSet set;
  std::vector<SchemaIssue> issues;
  set.compile(json::parse(text), &issues, limits);
  return issues;
}

::testing::AssertionResult has_issue(const std::vector<SchemaIssue>& issues, SchemaIssue::Kind kind,
                                     const std::string& path) {
  for (const auto& i : issues)
    if (i.kind == kind && i.path == path) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << "no issue at '" << path << "'; got:";
  for (const auto& i : issues) failure << " [" << static_cast<int>(i.kind) << " " << i.path << "]";
  return failure;
}

}  // namespace

TEST(JsonSchemaCompiler, SupportedSchemasCompileWithoutIssues) {
  for (const char* s : {
           R"({"type":"object","properties":{"a":{"type":"string","minLength":1,"maxLength":4,
               "description":"x","title":"A"}},"required":["a"],"additionalProperties":false})",
           R"({"anyOf":[{"type":"integer","minimum":0,"exclusiveMaximum":10},{"type":"null"}]})",
           R"({"$defs":{"n":{"type":"object","properties":{"c":{"type":"array",
               "items":{"$ref":"#/$defs/n"}}}}},"$ref":"#/$defs/n"})",
           R"({"type":"array","prefixItems":[{"const":1}],"items":false,"minItems":1})",
           R"({"type":["string","null"],"enum":["a",null]})",
           R"({"allOf":[{"type":"boolean"}]})",
           R"({"type":"object","properties":{"x":{"type":"integer"}},"unknownKeyword":1})",
           R"({"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"})",
           R"({"type":"string","format":"date-time"})"}) {
    EXPECT_TRUE(issues_of(s).empty()) << s;
  }
}

TEST(JsonSchemaCompiler, UnsupportedKeywordsAreReportedWithTheirPath) {
  auto issues = issues_of(R"({"type":"object","properties":{
      "tags":{"type":"array","items":{"type":"string"},"uniqueItems":true},
      "n":{"type":"integer","multipleOf":5},
      "m":{"type":"object","minProperties":1},
      "x":{"not":{"type":"string"}},
      "both":{"allOf":[{"type":"string"},{"minLength":2}]}}})");
  EXPECT_TRUE(has_issue(issues, SchemaIssue::Kind::Unsupported, "properties.tags.uniqueItems"));
  EXPECT_TRUE(has_issue(issues, SchemaIssue::Kind::Unsupported, "properties.n.multipleOf"));
  EXPECT_TRUE(has_issue(issues, SchemaIssue::Kind::Unsupported, "properties.m.minProperties"));
  EXPECT_TRUE(has_issue(issues, SchemaIssue::Kind::Unsupported, "properties.x.not"));
  EXPECT_TRUE(has_issue(issues, SchemaIssue::Kind::Unsupported, "properties.both.allOf"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"string","format":"hostname-ish"})"),
                        SchemaIssue::Kind::Unsupported, "format"));
  EXPECT_TRUE(has_issue(issues_of(R"({"$ref":"https://example.com/s.json"})"),
                        SchemaIssue::Kind::Unsupported, "$ref"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"number","maximum":1e300})"),
                        SchemaIssue::Kind::Unsupported, "maximum"));
}

TEST(JsonSchemaCompiler, InvalidSchemasAreReported) {
  using K = SchemaIssue::Kind;
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"strin"})"), K::Invalid, "type"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":["string",3]})"), K::Invalid, "type[1]"));
  EXPECT_TRUE(has_issue(issues_of(R"({"properties":[]})"), K::Invalid, "properties"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"object","required":"a"})"), K::Invalid, "required"));
  EXPECT_TRUE(has_issue(issues_of(R"({"enum":[]})"), K::Invalid, "enum"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"string","enum":[1,2]})"), K::Invalid, "enum"));
  EXPECT_TRUE(has_issue(issues_of(R"({"$ref":"#/$defs/missing"})"), K::Invalid, "$ref"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"array","minItems":3,"maxItems":2})"), K::Invalid,
                        "minItems"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"string","minLength":-1})"), K::Invalid,
                        "minLength"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"integer","minimum":0.2,"maximum":0.8})"),
                        K::Invalid, "maximum"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"object","properties":{"a":{"anyOf":"x"}}})"),
                        K::Invalid, "properties.a.anyOf"));
  EXPECT_TRUE(has_issue(issues_of(R"({"type":"object","properties":{"a":5}})"), K::Invalid,
                        "properties.a"));
}

TEST(JsonSchemaCompiler, DepthAndSizeLimits) {
  std::string deep = R"({"type":"string"})";
  for (int i = 0; i < 40; ++i) deep = R"({"type":"array","items":)" + deep + "}";
  auto issues = issues_of(deep.c_str(), SchemaLimits{32, 20000});
  ASSERT_FALSE(issues.empty());
  EXPECT_EQ(issues[0].kind, SchemaIssue::Kind::Limit);
  EXPECT_TRUE(issues_of(deep.c_str(), SchemaLimits{64, 20000}).empty());
  // Many subschemas: cut at the node limit, never a crash.
  json wide = {{"type", "object"}, {"properties", json::object()}};
  for (int i = 0; i < 500; ++i) wide["properties"]["p" + std::to_string(i)] = {{"type", "integer"}};
  SchemaSet set;
  std::vector<SchemaIssue> out;
  set.compile(wide, &out, SchemaLimits{32, 100});
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].kind, SchemaIssue::Kind::Limit);
}

TEST(JsonSchemaCompiler, ReferenceCyclesCompileOnce) {
  // A schema that is only a reference to itself, and mutual references: finite, no hang.
  EXPECT_NO_FATAL_FAILURE(issues_of(R"({"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})"));
  EXPECT_NO_FATAL_FAILURE(issues_of(
      R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})"));
}

TEST(SchemaCache, ARepeatedSchemaIsCompiledOnce) {
  SchemaCache cache(2);
  const json a = json::parse(R"({"type":"object","properties":{"x":{"type":"integer"}}})");
  const json b = json::parse(R"({"type":"array"})");
  bool fresh = false;
  auto first = cache.get(a, false, {}, &fresh);
  EXPECT_TRUE(fresh);
  auto again = cache.get(a, false, {}, &fresh);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(first.get(), again.get());
  // As an object root it is another entry; the oldest entry goes when the cache is full.
  cache.get(a, true);
  cache.get(b, false);
  cache.get(a, false, {}, &fresh);
  EXPECT_TRUE(fresh);
  EXPECT_EQ(cache.hits(), 1u);
}

TEST(JsonSchemaCompiler, PatternsOutsideTheSubsetAreUnsupported) {
  auto issues = issues_of(R"({"type":"object","properties":{"x":{"type":"string",
      "pattern":"^(?=a)b$"}}})");
  ASSERT_TRUE(has_issue(issues, SchemaIssue::Kind::Unsupported, "properties.x.pattern"));
  EXPECT_NE(issues[0].message.find("offset"), std::string::npos) << issues[0].message;
}
