#pragma once
// The part of JSON Schema that constrained decoding follows, compiled from the schema text into
// plain nodes the recognizer (json_recognizer.h) walks without looking at JSON again.
//
// Followed: type (a name or a list of names), enum, const, properties, required,
// additionalProperties, items (one schema), minItems/maxItems, minLength/maxLength. Anything
// else that shapes a value ($ref, anyOf, oneOf, allOf, not, if, tuple items, patterns) makes
// that position accept any JSON value: a schema is never rejected, it only constrains less.
//
// One choice differs from plain JSON Schema: an object that declares properties but says
// nothing about additionalProperties takes only its declared keys (OpenAI's strict function
// calling and xgrammar read tool schemas the same way); additionalProperties true or a schema
// lets other keys in.
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace toolgate::engine::constrained {

enum TypeBit : uint8_t {
  kTypeString = 1,
  kTypeNumber = 2,   // any JSON number
  kTypeInteger = 4,  // digits only, no fraction or exponent
  kTypeBoolean = 8,
  kTypeNull = 16,
  kTypeObject = 32,
  kTypeArray = 64,
  kTypeAny = 127,
};

struct SchemaNode {
  uint8_t types = kTypeAny;
  // Non-empty: the value is one of these compact JSON texts (sorted, unique).
  std::vector<std::string> enum_literals;

  // Objects. keys are the property names as JSON strings, quotes included ("\"city\""), sorted
  // by bytes so the keys sharing a typed prefix form one range.
  std::vector<std::string> keys;
  std::vector<const SchemaNode*> key_values;  // schema of keys[i]
  uint64_t required = 0;                      // bit i: keys[i] must appear (i < 64 only)
  const SchemaNode* additional = nullptr;     // schema of other keys; null = no other keys

  // Arrays.
  const SchemaNode* items = nullptr;  // never null once compiled
  uint32_t min_items = 0;
  uint32_t max_items = std::numeric_limits<uint32_t>::max();

  // Strings, in code points.
  uint32_t min_length = 0;
  uint32_t max_length = std::numeric_limits<uint32_t>::max();
};

// Owns the nodes of any number of compiled schemas; node pointers stay valid for its lifetime.
class SchemaSet {
 public:
  SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  // Compiles one schema. Never throws on schema content; unsupported parts become any().
  const SchemaNode* compile(const nlohmann::json& schema);
  // Like compile(), but the value must be an object (a tool's arguments); a schema that says
  // otherwise, or none (null), gives an object of any keys.
  const SchemaNode* compile_object(const nlohmann::json& schema);
  // Any JSON value.
  const SchemaNode* any() const { return any_; }

 private:
  const SchemaNode* compile(const nlohmann::json& schema, int depth);
  SchemaNode& make();

  std::deque<SchemaNode> nodes_;
  const SchemaNode* any_ = nullptr;
};

}  // namespace toolgate::engine::constrained
