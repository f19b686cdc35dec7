#include <gtest/gtest.h>

#include "tools/json_schema.h"

namespace toolgate::tools {
namespace {

using nlohmann::json;

std::vector<std::string> errors(const json& schema, const json& instance) {
  std::vector<std::string> out;
  for (const auto& v : validate_json(schema, instance)) out.push_back(v.to_string());
  return out;
}

using Errors = std::vector<std::string>;

TEST(JsonSchema, ValidInstanceHasNoErrors) {
  const json schema = json::parse(R"({
    "type": "object",
    "properties": {"a": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["a"]})");
  EXPECT_EQ(errors(schema, json::parse(R"({"a": 1.5, "tags": ["x", "y"]})")), Errors{});
}

TEST(JsonSchema, TypeMismatchNamesPointerAndBothTypes) {
  const json schema = json::parse(
      R"({"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"number"}}}}})");
  EXPECT_EQ(errors(schema, json::parse(R"({"a":{"b":"x"}})")),
            Errors{"/a/b: expected number, got string"});
}

TEST(JsonSchema, RootErrorsAreShownAsRoot) {
  EXPECT_EQ(errors({{"type", "object"}}, json::array()),
            Errors{"(root): expected object, got array"});
}

TEST(JsonSchema, IntegerAcceptsWholeNumbersOnly) {
  const json schema = {{"type", "integer"}};
  EXPECT_TRUE(errors(schema, 3).empty());
  EXPECT_TRUE(errors(schema, -3).empty());
  EXPECT_TRUE(errors(schema, 3.0).empty());  // JSON Schema: 3.0 is an integer
  EXPECT_EQ(errors(schema, 3.5), Errors{"(root): expected integer, got number"});
  EXPECT_EQ(errors(schema, "3"), Errors{"(root): expected integer, got string"});
}

TEST(JsonSchema, NumberAcceptsIntegersButNotBooleans) {
  const json schema = {{"type", "number"}};
  EXPECT_TRUE(errors(schema, 3).empty());
  EXPECT_TRUE(errors(schema, 3.25).empty());
  EXPECT_EQ(errors(schema, true), Errors{"(root): expected number, got boolean"});
}

TEST(JsonSchema, ArrayOfTypesAcceptsAnyOfThem) {
  const json schema = json::parse(R"({"type": ["string", "null"]})");
  EXPECT_TRUE(errors(schema, "x").empty());
  EXPECT_TRUE(errors(schema, nullptr).empty());
  EXPECT_EQ(errors(schema, 1), Errors{"(root): expected string or null, got integer"});
}

TEST(JsonSchema, MissingRequiredPropertiesAreAllReported) {
  const json schema = json::parse(R"({"type":"object","required":["a","b"]})");
  EXPECT_EQ(errors(schema, json::object()),
            (Errors{"/a: required property is missing", "/b: required property is missing"}));
}

TEST(JsonSchema, AdditionalPropertiesFalseRejectsUnknownKeys) {
  const json schema =
      json::parse(R"({"type":"object","properties":{"a":{}},"additionalProperties":false})");
  EXPECT_TRUE(errors(schema, json::parse(R"({"a":1})")).empty());
  EXPECT_EQ(errors(schema, json::parse(R"({"a":1,"zz":2})")), Errors{"/zz: unexpected property"});
  // Without the keyword, extra keys are fine.
  EXPECT_TRUE(errors({{"type", "object"}}, json::parse(R"({"zz":2})")).empty());
}

TEST(JsonSchema, EnumComparesJsonValues) {
  const json schema = json::parse(R"({"enum": ["celsius", "fahrenheit", 1]})");
  EXPECT_TRUE(errors(schema, "celsius").empty());
  EXPECT_TRUE(errors(schema, 1.0).empty());
  EXPECT_EQ(errors(schema, "kelvin"),
            Errors{R"((root): must be one of ["celsius","fahrenheit",1], got "kelvin")"});
}

TEST(JsonSchema, NumericBounds) {
  const json schema = json::parse(R"({"type":"number","minimum":0,"maximum":10})");
  EXPECT_TRUE(errors(schema, 0).empty());
  EXPECT_TRUE(errors(schema, 10).empty());
  EXPECT_EQ(errors(schema, -1), Errors{"(root): must be >= 0, got -1"});
  EXPECT_EQ(errors(schema, 10.5), Errors{"(root): must be <= 10, got 10.5"});
  const json exclusive = json::parse(R"({"exclusiveMinimum":0,"exclusiveMaximum":1})");
  EXPECT_EQ(errors(exclusive, 0), Errors{"(root): must be > 0, got 0"});
  EXPECT_EQ(errors(exclusive, 1), Errors{"(root): must be < 1, got 1"});
}

TEST(JsonSchema, StringLengthCountsCodePointsNotBytes) {
  const json schema = {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}};
  EXPECT_TRUE(errors(schema, "äöü").empty());  // 6 bytes, 3 characters
  EXPECT_EQ(errors(schema, "a"), Errors{"(root): must be at least 2 characters long, got 1"});
  EXPECT_EQ(errors(schema, "abcd"), Errors{"(root): must be at most 3 characters long, got 4"});
}

TEST(JsonSchema, ArrayItemsAreCheckedWithIndexInPointer) {
  const json schema = json::parse(R"({"type":"array","items":{"type":"integer"},"maxItems":3})");
  EXPECT_EQ(errors(schema, json::parse(R"([1, "two", 3.5])")),
            (Errors{"/1: expected integer, got string", "/2: expected integer, got number"}));
  EXPECT_EQ(errors(schema, json::parse("[1,2,3,4]")),
            Errors{"(root): must have at most 3 items, got 4"});
}

TEST(JsonSchema, NestedObjectsInsideArrays) {
  const json schema = json::parse(R"({
    "type":"object",
    "properties":{"points":{"type":"array","items":{
      "type":"object","properties":{"x":{"type":"number"}},"required":["x"]}}}})");
  EXPECT_EQ(errors(schema, json::parse(R"({"points":[{"x":1},{"y":2}]})")),
            Errors{"/points/1/x: required property is missing"});
}

TEST(JsonSchema, PointerEscapesSlashAndTilde) {
  const json schema = json::parse(R"({"type":"object","additionalProperties":false})");
  EXPECT_EQ(errors(schema, json::parse(R"({"a/b~c":1})")), Errors{"/a~1b~0c: unexpected property"});
}

TEST(JsonSchema, UnknownKeywordsAreIgnored) {
  const json schema = json::parse(
      R"({"type":"string","description":"d","format":"date-time","default":"x","title":"t"})");
  EXPECT_TRUE(errors(schema, "anything").empty());
}

TEST(JsonSchema, DescribeJoinsViolations) {
  const json schema = json::parse(R"({"type":"object","required":["a","b"]})");
  EXPECT_EQ(describe(validate_json(schema, json::object())),
            "/a: required property is missing; /b: required property is missing");
}

}  // namespace
}  // namespace toolgate::tools
