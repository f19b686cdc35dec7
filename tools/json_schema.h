#pragma once
// Validation for the JSON-schema subset that tool definitions use.
//
// Supported keywords: type (string or array of strings; "integer" accepts 3 and 3.0 but not
// 3.5, "number" accepts any number, booleans are never numbers), properties, required,
// additionalProperties (bool only), enum, const, items (single schema), minItems/maxItems,
// minimum/maximum, exclusiveMinimum/exclusiveMaximum (numeric form), minLength/maxLength
// (counted in Unicode code points, as the spec says). Any other keyword (description, title,
// default, format, anyOf, ...) is ignored, as JSON Schema does with unknown keywords: it
// never rejects an instance.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace toolgate::tools {

struct SchemaViolation {
  std::string pointer;  // JSON pointer (RFC 6901) to the offending value; "" = the root
  std::string message;  // e.g. "expected number, got string"
  // "/a/b: expected number, got string"; the root is shown as "(root)".
  std::string to_string() const;
};

// Every violation found (not just the first), in document order. Empty = valid.
std::vector<SchemaViolation> validate_json(const nlohmann::json& schema,
                                           const nlohmann::json& instance);

// Joins violations with "; " for an error message.
std::string describe(const std::vector<SchemaViolation>& violations);

// Name of a value's JSON type as the schema spells it: "integer" for whole numbers.
std::string json_type_name(const nlohmann::json& value);

}  // namespace toolgate::tools
