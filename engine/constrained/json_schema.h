#pragma once
// The part of JSON Schema that constrained decoding follows, compiled from the schema text into
// plain nodes the recognizer (json_recognizer.h) walks without looking at JSON again.
//
// Enforced: type (a name or a list; "nullable": true adds null), enum, const, properties (keys
// are written in their declared order; optional ones may be left out), required,
// additionalProperties, anyOf / oneOf (oneOf is read as anyOf: exclusivity is not enforced),
// local $ref into the document ($defs, definitions, any JSON pointer; recursion allowed),
// allOf of a single schema, items, prefixItems, minItems / maxItems, minLength / maxLength,
// pattern (the regex subset documented in regex.h, matched against the whole string) and
// format (date, date-time, time, uuid, email, ipv4, ipv6, hostname: regexes accepting a subset
// of what ajv-formats accepts),
// minimum / maximum / exclusiveMinimum / exclusiveMaximum (numbers within ±1e15; a bounded
// number is written without exponent).
// Annotations (title, description, default, examples, $schema, $id, $comment, ...) and unknown
// keywords are ignored, as JSON Schema says.
//
// Anything else that shapes a value (allOf of several schemas, not, if/then/else,
// patternProperties, propertyNames, uniqueItems, contains, minProperties, maxProperties,
// multipleOf, dependent*, unevaluated*, remote $ref, an unknown format, a pattern outside the
// regex subset) is "unsupported": the compiler reports it as an issue with the keyword's path
// and relaxes that keyword (a strict caller refuses the schema instead). A schema that is not
// valid JSON Schema or cannot be satisfied is reported as "invalid"; past the limits (nesting
// depth, node count) as "limit". compile() never throws on schema content.
//
// One choice differs from plain JSON Schema: an object that declares properties but says
// nothing about additionalProperties takes only its declared keys (OpenAI's strict mode and
// xgrammar read schemas the same way); additionalProperties true or a schema lets other keys in.
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace toolgate::engine::constrained {

class Regex;

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

struct NumberBounds {
  double minimum = -std::numeric_limits<double>::infinity();
  double maximum = std::numeric_limits<double>::infinity();
  bool exclusive_minimum = false;
  bool exclusive_maximum = false;
  bool bounded() const {
    return minimum != -std::numeric_limits<double>::infinity() ||
           maximum != std::numeric_limits<double>::infinity();
  }
};

struct SchemaNode {
  uint8_t types = kTypeAny;
  // Non-empty: the value is one of these compact JSON texts (sorted, unique).
  std::vector<std::string> enum_literals;
  // Non-empty: the value follows one of these (anyOf / oneOf); nothing else here applies.
  std::vector<const SchemaNode*> any_of;

  // Objects. keys are the property names as JSON strings, quotes included ("\"city\""), sorted
  // by bytes so the keys sharing a typed prefix form one range; key_order[i] is the declared
  // position of keys[i]. Keys are written in declared order: after the key at position p only
  // keys at positions p+1 .. next_required[p+1] may follow (next_required[q] is the first
  // required position >= q, or the key count; it has key count + 1 entries).
  std::vector<std::string> keys;
  std::vector<const SchemaNode*> key_values;  // schema of keys[i]
  std::vector<uint32_t> key_order;
  std::vector<uint32_t> next_required = {0};
  const SchemaNode* additional = nullptr;  // schema of other keys; null = no other keys

  // Arrays: item i follows prefix_items[i], later ones `items` (null: no more items).
  std::vector<const SchemaNode*> prefix_items;
  const SchemaNode* items = nullptr;
  uint32_t min_items = 0;
  uint32_t max_items = std::numeric_limits<uint32_t>::max();

  // Strings, in code points; `pattern` (pattern or format) must match the whole string.
  uint32_t min_length = 0;
  uint32_t max_length = std::numeric_limits<uint32_t>::max();
  const Regex* pattern = nullptr;

  // Numbers and integers.
  NumberBounds bounds;

  const SchemaNode* item(uint32_t index) const {
    return index < prefix_items.size() ? prefix_items[index] : items;
  }
};

struct SchemaIssue {
  enum class Kind { Invalid, Unsupported, Limit };
  Kind kind;
  std::string path;  // keyword path from the schema root, "properties.x.pattern"; "" = root
  std::string message;
};
const char* schema_issue_kind_name(SchemaIssue::Kind kind);

struct SchemaLimits {
  int max_depth = 32;         // nested schema objects (a $ref cycle counts once)
  size_t max_nodes = 20000;   // compiled nodes for one schema
};

// Owns the nodes of any number of compiled schemas; node pointers stay valid for its lifetime.
class SchemaSet {
 public:
  SchemaSet();
  ~SchemaSet();
  SchemaSet(const SchemaSet&) = delete;
  SchemaSet& operator=(const SchemaSet&) = delete;

  // Compiles one schema (the key order of `properties` is kept). Problems are appended to
  // *issues when given; each is relaxed in the result (an invalid part accepts any value).
  const SchemaNode* compile(const nlohmann::ordered_json& schema,
                            std::vector<SchemaIssue>* issues = nullptr,
                            const SchemaLimits& limits = {});
  const SchemaNode* compile(const nlohmann::json& schema,
                            std::vector<SchemaIssue>* issues = nullptr,
                            const SchemaLimits& limits = {});
  // Like compile(), but the value must be an object (a tool's arguments, a json_object reply);
  // a schema that says otherwise, or none (null), gives an object of any keys.
  const SchemaNode* compile_object(const nlohmann::ordered_json& schema,
                                   std::vector<SchemaIssue>* issues = nullptr,
                                   const SchemaLimits& limits = {});
  const SchemaNode* compile_object(const nlohmann::json& schema,
                                   std::vector<SchemaIssue>* issues = nullptr,
                                   const SchemaLimits& limits = {});
  // Any JSON value.
  const SchemaNode* any() const { return any_; }

 private:
  struct Context;
  const SchemaNode* compile(const nlohmann::ordered_json& schema, Context& cx,
                            const std::string& path, int depth);
  const SchemaNode* compile_ref(const std::string& ref, Context& cx, const std::string& path,
                                int depth);
  void compile_object_part(const nlohmann::ordered_json& schema, SchemaNode& node, Context& cx,
                           const std::string& path, int depth);
  void compile_array_part(const nlohmann::ordered_json& schema, SchemaNode& node, Context& cx,
                          const std::string& path, int depth);
  void compile_string_part(const nlohmann::ordered_json& schema, SchemaNode& node, Context& cx,
                           const std::string& path);
  void compile_number_part(const nlohmann::ordered_json& schema, SchemaNode& node, Context& cx,
                           const std::string& path);
  SchemaNode& make();

  std::deque<SchemaNode> nodes_;
  std::vector<std::shared_ptr<const Regex>> regexes_;  // owned patterns (shared: Regex may be incomplete here)
  const SchemaNode* any_ = nullptr;
};

}  // namespace toolgate::engine::constrained
