#include "engine/constrained/json_schema.h"

#include <algorithm>
#include <numeric>

namespace toolgate::engine::constrained {
namespace {

// Schema nesting followed before positions turn into "any value"; well inside the recognizer's
// frame stack (json_recognizer.h) so a schema can never ask for a deeper value than it allows.
constexpr int kMaxSchemaDepth = 8;

std::string compact(const nlohmann::json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

uint8_t type_bit(const std::string& name) {
  if (name == "string") return kTypeString;
  if (name == "number") return kTypeNumber | kTypeInteger;
  if (name == "integer") return kTypeInteger;
  if (name == "boolean") return kTypeBoolean;
  if (name == "null") return kTypeNull;
  if (name == "object") return kTypeObject;
  if (name == "array") return kTypeArray;
  return 0;
}

uint32_t count_of(const nlohmann::json& schema, const char* key, uint32_t fallback) {
  auto it = schema.find(key);
  if (it == schema.end() || !it->is_number_integer()) return fallback;
  const auto v = it->get<int64_t>();
  if (v < 0) return 0;
  return static_cast<uint32_t>(std::min<int64_t>(v, std::numeric_limits<uint32_t>::max()));
}

bool has_any_of(const nlohmann::json& schema, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (schema.contains(k)) return true;
  return false;
}

}  // namespace

SchemaSet::SchemaSet() {
  SchemaNode& any = make();
  any.additional = &any;
  any.items = &any;
  any_ = &any;
}

SchemaNode& SchemaSet::make() { return nodes_.emplace_back(); }

const SchemaNode* SchemaSet::compile(const nlohmann::json& schema) { return compile(schema, 0); }

const SchemaNode* SchemaSet::compile_object(const nlohmann::json& schema) {
  const SchemaNode* node = compile(schema, 0);
  if (node->types == kTypeObject && node->enum_literals.empty()) return node;
  if (node != any_ && (node->types & kTypeObject) && node->enum_literals.empty()) {
    SchemaNode& copy = make();
    copy = *node;
    copy.types = kTypeObject;
    return &copy;
  }
  SchemaNode& open = make();  // no usable object schema: any keys, any values
  open.types = kTypeObject;
  open.additional = any_;
  open.items = any_;
  return &open;
}

const SchemaNode* SchemaSet::compile(const nlohmann::json& schema, int depth) {
  if (!schema.is_object() || depth > kMaxSchemaDepth) return any_;
  if (has_any_of(schema, {"$ref", "anyOf", "oneOf", "allOf", "not", "if", "$dynamicRef"}))
    return any_;

  SchemaNode& node = make();
  node.items = any_;
  node.additional = any_;

  if (auto it = schema.find("const"); it != schema.end()) {
    node.enum_literals = {compact(*it)};
  } else if (auto en = schema.find("enum"); en != schema.end() && en->is_array() && !en->empty()) {
    for (const auto& v : *en) node.enum_literals.push_back(compact(v));
    std::sort(node.enum_literals.begin(), node.enum_literals.end());
    node.enum_literals.erase(std::unique(node.enum_literals.begin(), node.enum_literals.end()),
                             node.enum_literals.end());
  }

  uint8_t types = 0;
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string()) types = type_bit(t->get<std::string>());
    if (t->is_array())
      for (const auto& name : *t)
        if (name.is_string()) types |= type_bit(name.get<std::string>());
  } else if (has_any_of(schema, {"properties", "required", "additionalProperties"})) {
    types = kTypeObject;
  } else if (has_any_of(schema, {"items", "minItems", "maxItems"})) {
    types = kTypeArray;
  }
  node.types = types ? types : static_cast<uint8_t>(kTypeAny);

  if (node.types & kTypeObject) {
    // Declared properties, plus any required key that was not declared (as any value), so a
    // required key can always be written.
    std::vector<std::pair<std::string, const SchemaNode*>> props;
    if (auto p = schema.find("properties"); p != schema.end() && p->is_object())
      for (auto it = p->begin(); it != p->end(); ++it)
        props.emplace_back(compact(nlohmann::json(it.key())), compile(it.value(), depth + 1));
    std::vector<std::string> required;
    if (auto r = schema.find("required"); r != schema.end() && r->is_array())
      for (const auto& k : *r)
        if (k.is_string()) required.push_back(compact(k));
    for (const auto& k : required)
      if (std::none_of(props.begin(), props.end(), [&](const auto& p) { return p.first == k; }))
        props.emplace_back(k, any_);
    std::sort(props.begin(), props.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    props.erase(std::unique(props.begin(), props.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                props.end());
    for (size_t i = 0; i < props.size(); ++i) {
      node.keys.push_back(props[i].first);
      node.key_values.push_back(props[i].second);
      if (i < 64 && std::find(required.begin(), required.end(), props[i].first) != required.end())
        node.required |= uint64_t{1} << i;
    }
    auto ap = schema.find("additionalProperties");
    if (ap == schema.end()) {
      node.additional = node.keys.empty() ? any_ : nullptr;
    } else if (ap->is_boolean()) {
      node.additional = ap->get<bool>() ? any_ : nullptr;
    } else {
      node.additional = compile(*ap, depth + 1);
    }
  }
  if (node.types & kTypeArray) {
    if (auto it = schema.find("items"); it != schema.end() && it->is_object())
      node.items = compile(*it, depth + 1);
    node.min_items = count_of(schema, "minItems", 0);
    node.max_items = std::max(node.min_items,
                              count_of(schema, "maxItems", std::numeric_limits<uint32_t>::max()));
  }
  if (node.types & kTypeString) {
    node.min_length = count_of(schema, "minLength", 0);
    node.max_length = std::max(
        node.min_length, count_of(schema, "maxLength", std::numeric_limits<uint32_t>::max()));
  }
  return &node;
}

}  // namespace toolgate::engine::constrained
