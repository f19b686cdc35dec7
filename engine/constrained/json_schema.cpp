#include "engine/constrained/json_schema.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "engine/constrained/schema_pattern.h"

namespace toolgate::engine::constrained {
namespace {

using ojson = nlohmann::ordered_json;
using Kind = SchemaIssue::Kind;

// Bounds beyond this cannot be written exactly within the recognizer's number length.
constexpr double kMaxBound = 1e15;

std::string compact(const ojson& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, ojson::error_handler_t::replace);
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

// The type bits a JSON value has (integers count as numbers too).
uint8_t value_types(const ojson& v) {
  switch (v.type()) {
    case ojson::value_t::string: return kTypeString;
    case ojson::value_t::boolean: return kTypeBoolean;
    case ojson::value_t::null: return kTypeNull;
    case ojson::value_t::object: return kTypeObject;
    case ojson::value_t::array: return kTypeArray;
    case ojson::value_t::number_integer:
    case ojson::value_t::number_unsigned: return kTypeInteger | kTypeNumber;
    case ojson::value_t::number_float: {
      const double d = v.get<double>();
      return std::floor(d) == d ? (kTypeInteger | kTypeNumber) : kTypeNumber;
    }
    default: return 0;
  }
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string index_path(const std::string& path, const std::string& key, size_t i) {
  return join(path, key) + "[" + std::to_string(i) + "]";
}

// Keywords that shape a value and are not followed.
const std::set<std::string>& unsupported_keywords() {
  static const std::set<std::string> k = {
      "not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies",
      "patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems",
      "contains", "minContains", "maxContains", "minProperties", "maxProperties", "multipleOf",
      "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "additionalItems"};
  return k;
}

// Keywords compile() itself reads; anything else is an annotation or unknown.
const std::set<std::string>& followed_keywords() {
  static const std::set<std::string> k = {
      "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions",
      "properties", "required", "additionalProperties", "items", "prefixItems", "minItems",
      "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "nullable", "uniqueItems"};
  return k;
}

bool constrains(const std::string& key) {
  return followed_keywords().count(key) && key != "$defs" && key != "definitions";
}

}  // namespace

const char* schema_issue_kind_name(SchemaIssue::Kind kind) {
  switch (kind) {
    case Kind::Invalid: return "invalid";
    case Kind::Unsupported: return "unsupported";
    case Kind::Limit: return "limit";
  }
  return "?";
}

struct SchemaSet::Context {
  const ojson* root = nullptr;
  std::vector<SchemaIssue>* issues = nullptr;
  SchemaLimits limits;
  size_t first_node = 0;
  bool over_limit = false;
  std::map<std::string, const SchemaNode*> refs;  // resolved or being resolved

  void add(Kind kind, const std::string& path, std::string message) {
    if (issues) issues->push_back({kind, path, std::move(message)});
  }
};

SchemaSet::SchemaSet() {
  SchemaNode& any = make();
  any.additional = &any;
  any.items = &any;
  any_ = &any;
}

SchemaSet::~SchemaSet() = default;

SchemaNode& SchemaSet::make() { return nodes_.emplace_back(); }

const SchemaNode* SchemaSet::compile(const ojson& schema, std::vector<SchemaIssue>* issues,
                                     const SchemaLimits& limits) {
  Context cx;
  cx.root = &schema;
  cx.issues = issues;
  cx.limits = limits;
  cx.first_node = nodes_.size();
  return compile(schema, cx, "", 0);
}

const SchemaNode* SchemaSet::compile(const nlohmann::json& schema,
                                     std::vector<SchemaIssue>* issues,
                                     const SchemaLimits& limits) {
  return compile(ojson::parse(schema.dump()), issues, limits);
}

const SchemaNode* SchemaSet::compile_object(const nlohmann::json& schema,
                                            std::vector<SchemaIssue>* issues,
                                            const SchemaLimits& limits) {
  return compile_object(ojson::parse(schema.dump()), issues, limits);
}

const SchemaNode* SchemaSet::compile_object(const ojson& schema,
                                            std::vector<SchemaIssue>* issues,
                                            const SchemaLimits& limits) {
  const SchemaNode* node = compile(schema, issues, limits);
  if (node->types == kTypeObject && node->enum_literals.empty() && node->any_of.empty())
    return node;
  if (node != any_ && (node->types & kTypeObject) && node->enum_literals.empty() &&
      node->any_of.empty()) {
    SchemaNode& copy = make();
    copy = *node;
    copy.types = kTypeObject;
    return &copy;
  }
  if (!node->any_of.empty()) {
    // anyOf at the root: keep the object alternatives, if any.
    std::vector<const SchemaNode*> objects;
    for (const SchemaNode* alt : node->any_of)
      if (alt->types == kTypeObject && alt->enum_literals.empty() && alt->any_of.empty())
        objects.push_back(alt);
    if (!objects.empty()) {
      SchemaNode& u = make();
      u.any_of = std::move(objects);
      return &u;
    }
  }
  SchemaNode& open = make();  // no usable object schema: any keys, any values
  open.types = kTypeObject;
  open.additional = any_;
  open.items = any_;
  open.next_required = {0};
  return &open;
}

const SchemaNode* SchemaSet::compile_ref(const std::string& ref, Context& cx,
                                         const std::string& path, int depth) {
  if (auto it = cx.refs.find(ref); it != cx.refs.end()) return it->second;
  if (ref.empty() || ref[0] != '#') {
    cx.add(Kind::Unsupported, join(path, "$ref"),
           "only local references ('#/$defs/...') are supported, not '" + ref + "'");
    return any_;
  }
  const ojson* target = nullptr;
  try {
    const std::string pointer = ref.substr(1);
    const ojson::json_pointer p(pointer);
    if (cx.root->contains(p)) target = &cx.root->at(p);
  } catch (const std::exception&) {
  }
  if (!target) {
    cx.add(Kind::Invalid, join(path, "$ref"), "cannot resolve '" + ref + "'");
    return any_;
  }
  // A placeholder first, so a recursive reference finds this node while it is compiled.
  SchemaNode& slot = make();
  slot.types = kTypeAny;
  slot.additional = any_;
  slot.items = any_;
  cx.refs[ref] = &slot;
  const SchemaNode* compiled = compile(*target, cx, join(path, "$ref"), depth + 1);
  slot = *compiled;
  return &slot;
}

const SchemaNode* SchemaSet::compile(const ojson& schema, Context& cx, const std::string& path,
                                     int depth) {
  if (cx.over_limit) return any_;
  if (depth > cx.limits.max_depth) {
    cx.add(Kind::Limit, path,
           "schema nesting exceeds the limit of " + std::to_string(cx.limits.max_depth));
    cx.over_limit = true;
    return any_;
  }
  if (nodes_.size() - cx.first_node > cx.limits.max_nodes) {
    cx.add(Kind::Limit, path,
           "schema is too large (more than " + std::to_string(cx.limits.max_nodes) +
               " subschemas)");
    cx.over_limit = true;
    return any_;
  }
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return any_;
    SchemaNode& none = make();  // false: no value at all
    none.types = 0;
    none.items = any_;
    none.additional = any_;
    return &none;
  }
  if (!schema.is_object()) {
    cx.add(Kind::Invalid, path, "a schema must be an object or a boolean");
    return any_;
  }

  for (auto it = schema.begin(); it != schema.end(); ++it)
    if (unsupported_keywords().count(it.key()))
      cx.add(Kind::Unsupported, join(path, it.key()),
             "keyword '" + it.key() + "' is not supported");
  if (auto u = schema.find("uniqueItems"); u != schema.end() && u->is_boolean() && u->get<bool>())
    cx.add(Kind::Unsupported, join(path, "uniqueItems"), "keyword 'uniqueItems' is not supported");

  auto has_siblings = [&](const char* self) {
    for (auto it = schema.begin(); it != schema.end(); ++it)
      if (it.key() != self && constrains(it.key())) return true;
    return false;
  };

  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    if (!ref->is_string()) {
      cx.add(Kind::Invalid, join(path, "$ref"), "'$ref' must be a string");
      return any_;
    }
    if (has_siblings("$ref"))
      cx.add(Kind::Unsupported, path, "keywords beside '$ref' are not supported");
    return compile_ref(ref->get<std::string>(), cx, path, depth);
  }

  if (auto all = schema.find("allOf"); all != schema.end()) {
    if (!all->is_array() || all->empty()) {
      cx.add(Kind::Invalid, join(path, "allOf"), "'allOf' must be a non-empty array");
      return any_;
    }
    if (all->size() > 1 || has_siblings("allOf")) {
      cx.add(Kind::Unsupported, join(path, "allOf"),
             "'allOf' is supported only with a single schema and no other keywords");
      return any_;
    }
    return compile((*all)[0], cx, index_path(path, "allOf", 0), depth + 1);
  }

  for (const char* key : {"anyOf", "oneOf"}) {
    auto alts = schema.find(key);
    if (alts == schema.end()) continue;
    if (!alts->is_array() || alts->empty()) {
      cx.add(Kind::Invalid, join(path, key), std::string("'") + key + "' must be a non-empty array");
      return any_;
    }
    if (has_siblings(key))
      cx.add(Kind::Unsupported, path,
             std::string("keywords beside '") + key + "' are not supported");
    SchemaNode& node = make();
    node.items = any_;
    node.additional = any_;
    for (size_t i = 0; i < alts->size(); ++i) {
      const SchemaNode* alt = compile((*alts)[i], cx, index_path(path, key, i), depth + 1);
      if (alt == any_) return any_;  // one alternative takes anything: so does the union
      if (alt->types == 0 && alt->enum_literals.empty() && alt->any_of.empty()) continue;
      node.any_of.push_back(alt);
    }
    if (node.any_of.empty()) {
      cx.add(Kind::Invalid, join(path, key), "no alternative can be satisfied");
      return any_;
    }
    if (node.any_of.size() == 1) return node.any_of[0];
    return &node;
  }

  SchemaNode& node = make();
  node.items = any_;
  node.additional = any_;

  uint8_t types = 0;
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string()) {
      types = type_bit(t->get<std::string>());
      if (!types)
        cx.add(Kind::Invalid, join(path, "type"), "unknown type '" + t->get<std::string>() + "'");
    } else if (t->is_array() && !t->empty()) {
      for (size_t i = 0; i < t->size(); ++i) {
        const auto& name = (*t)[i];
        const uint8_t bit = name.is_string() ? type_bit(name.get<std::string>()) : 0;
        if (!bit) cx.add(Kind::Invalid, index_path(path, "type", i), "unknown type");
        types |= bit;
      }
    } else {
      cx.add(Kind::Invalid, join(path, "type"), "'type' must be a string or an array of strings");
    }
  } else if (schema.contains("properties") || schema.contains("required") ||
             schema.contains("additionalProperties")) {
    types = kTypeObject;
  } else if (schema.contains("items") || schema.contains("prefixItems") ||
             schema.contains("minItems") || schema.contains("maxItems")) {
    types = kTypeArray;
  } else if (schema.contains("minLength") || schema.contains("maxLength") ||
             schema.contains("pattern") || schema.contains("format")) {
    types = kTypeString;
  }
  if (!types) types = kTypeAny;
  if (auto n = schema.find("nullable"); n != schema.end() && n->is_boolean() && n->get<bool>())
    types |= kTypeNull;
  node.types = types;

  if (auto it = schema.find("const"); it != schema.end()) {
    node.enum_literals = {compact(*it)};
    if (!(value_types(*it) & types))
      cx.add(Kind::Invalid, join(path, "const"), "'const' does not have the schema's type");
  } else if (auto en = schema.find("enum"); en != schema.end()) {
    if (!en->is_array() || en->empty()) {
      cx.add(Kind::Invalid, join(path, "enum"), "'enum' must be a non-empty array");
    } else {
      for (const auto& v : *en)
        if (value_types(v) & types) node.enum_literals.push_back(compact(v));
      if (node.enum_literals.empty())
        cx.add(Kind::Invalid, join(path, "enum"), "no 'enum' value has the schema's type");
      std::sort(node.enum_literals.begin(), node.enum_literals.end());
      node.enum_literals.erase(
          std::unique(node.enum_literals.begin(), node.enum_literals.end()),
          node.enum_literals.end());
    }
  }
  if (!node.enum_literals.empty()) return &node;  // the literals decide

  if (node.types & kTypeObject) compile_object_part(schema, node, cx, path, depth);
  if (node.types & kTypeArray) compile_array_part(schema, node, cx, path, depth);
  if (node.types & kTypeString) compile_string_part(schema, node, cx, path);
  if (node.types & (kTypeNumber | kTypeInteger)) compile_number_part(schema, node, cx, path);
  return &node;
}

void SchemaSet::compile_object_part(const ojson& schema, SchemaNode& node, Context& cx,
                                    const std::string& path, int depth) {
  struct Prop {
    std::string key;
    const SchemaNode* value;
  };
  std::vector<Prop> props;  // declared order
  if (auto p = schema.find("properties"); p != schema.end()) {
    if (!p->is_object()) {
      cx.add(Kind::Invalid, join(path, "properties"), "'properties' must be an object");
    } else {
      for (auto it = p->begin(); it != p->end(); ++it) {
        const SchemaNode* value =
            compile(it.value(), cx, join(join(path, "properties"), it.key()), depth + 1);
        if (value->types == 0 && value->enum_literals.empty() && value->any_of.empty())
          continue;  // a false schema: the key may not appear
        props.push_back({compact(ojson(it.key())), value});
      }
    }
  }
  std::vector<std::string> required;
  if (auto r = schema.find("required"); r != schema.end()) {
    if (!r->is_array()) {
      cx.add(Kind::Invalid, join(path, "required"), "'required' must be an array of strings");
    } else {
      for (size_t i = 0; i < r->size(); ++i) {
        if (!(*r)[i].is_string()) {
          cx.add(Kind::Invalid, index_path(path, "required", i), "must be a string");
          continue;
        }
        required.push_back(compact((*r)[i]));
      }
    }
  }
  for (const auto& k : required)
    if (std::none_of(props.begin(), props.end(), [&](const Prop& p) { return p.key == k; }))
      props.push_back({k, any_});  // required but not declared: any value

  const auto n = static_cast<uint32_t>(props.size());
  std::vector<uint32_t> sorted(n);
  for (uint32_t i = 0; i < n; ++i) sorted[i] = i;
  std::sort(sorted.begin(), sorted.end(),
            [&](uint32_t a, uint32_t b) { return props[a].key < props[b].key; });
  for (uint32_t i : sorted) {
    node.keys.push_back(props[i].key);
    node.key_values.push_back(props[i].value);
    node.key_order.push_back(i);
  }
  node.next_required.assign(n + 1, n);
  for (uint32_t p = n; p-- > 0;) {
    const bool req =
        std::find(required.begin(), required.end(), props[p].key) != required.end();
    node.next_required[p] = req ? p : node.next_required[p + 1];
  }

  auto ap = schema.find("additionalProperties");
  if (ap == schema.end()) {
    node.additional = node.keys.empty() ? any_ : nullptr;
  } else if (ap->is_boolean()) {
    node.additional = ap->get<bool>() ? any_ : nullptr;
  } else if (ap->is_object()) {
    node.additional = compile(*ap, cx, join(path, "additionalProperties"), depth + 1);
  } else {
    cx.add(Kind::Invalid, join(path, "additionalProperties"),
           "'additionalProperties' must be a boolean or a schema");
  }
}

namespace {

bool count_keyword(const ojson& schema, const char* key, uint32_t& out,
                   std::vector<SchemaIssue>* issues, const std::string& path) {
  auto it = schema.find(key);
  if (it == schema.end()) return false;
  double v = -1;
  if (it->is_number()) v = it->get<double>();
  if (!(v >= 0) || std::floor(v) != v) {
    if (issues)
      issues->push_back(
          {Kind::Invalid, join(path, key), std::string("'") + key + "' must be a non-negative integer"});
    return false;
  }
  out = static_cast<uint32_t>(std::min<double>(v, std::numeric_limits<uint32_t>::max()));
  return true;
}

}  // namespace

void SchemaSet::compile_array_part(const ojson& schema, SchemaNode& node, Context& cx,
                                   const std::string& path, int depth) {
  if (auto pi = schema.find("prefixItems"); pi != schema.end()) {
    if (!pi->is_array()) {
      cx.add(Kind::Invalid, join(path, "prefixItems"), "'prefixItems' must be an array");
    } else {
      for (size_t i = 0; i < pi->size(); ++i)
        node.prefix_items.push_back(
            compile((*pi)[i], cx, index_path(path, "prefixItems", i), depth + 1));
    }
  }
  if (auto it = schema.find("items"); it != schema.end()) {
    if (it->is_boolean() && !it->get<bool>()) {
      node.items = nullptr;
    } else if (it->is_object() || it->is_boolean()) {
      node.items = compile(*it, cx, join(path, "items"), depth + 1);
    } else if (it->is_array()) {
      cx.add(Kind::Unsupported, join(path, "items"),
             "'items' as an array is not supported; use 'prefixItems'");
    } else {
      cx.add(Kind::Invalid, join(path, "items"), "'items' must be a schema");
    }
  }
  count_keyword(schema, "minItems", node.min_items, cx.issues, path);
  count_keyword(schema, "maxItems", node.max_items, cx.issues, path);
  if (!node.items)
    node.max_items = std::min<uint32_t>(node.max_items,
                                        static_cast<uint32_t>(node.prefix_items.size()));
  // A prefix item that can hold nothing caps the array before it.
  for (size_t i = 0; i < node.prefix_items.size(); ++i) {
    const SchemaNode* p = node.prefix_items[i];
    if (p->types == 0 && p->enum_literals.empty() && p->any_of.empty()) {
      node.max_items = std::min<uint32_t>(node.max_items, static_cast<uint32_t>(i));
      break;
    }
  }
  if (node.min_items > node.max_items) {
    cx.add(Kind::Invalid, join(path, "minItems"), "no array length satisfies the schema");
    node.min_items = node.max_items;
  }
}

void SchemaSet::compile_string_part(const ojson& schema, SchemaNode& node, Context& cx,
                                    const std::string& path) {
  count_keyword(schema, "minLength", node.min_length, cx.issues, path);
  count_keyword(schema, "maxLength", node.max_length, cx.issues, path);
  if (node.min_length > node.max_length) {
    cx.add(Kind::Invalid, join(path, "minLength"), "'minLength' is greater than 'maxLength'");
    node.min_length = node.max_length;
  }
  const ojson* pattern = nullptr;
  std::string where;
  std::string text;
  if (auto f = schema.find("format"); f != schema.end()) {
    if (!f->is_string()) {
      cx.add(Kind::Invalid, join(path, "format"), "'format' must be a string");
    } else if (auto re = format_pattern(f->get<std::string>())) {
      text = *re;
      where = join(path, "format");
      pattern = &*f;
    } else {
      cx.add(Kind::Unsupported, join(path, "format"),
             "format '" + f->get<std::string>() + "' is not supported");
    }
  }
  if (auto p = schema.find("pattern"); p != schema.end()) {
    if (!p->is_string()) {
      cx.add(Kind::Invalid, join(path, "pattern"), "'pattern' must be a string");
    } else if (pattern) {
      cx.add(Kind::Unsupported, join(path, "pattern"),
             "'pattern' together with 'format' is not supported");
    } else {
      text = p->get<std::string>();
      where = join(path, "pattern");
      pattern = &*p;
    }
  }
  if (!pattern) return;
  std::string error;
  auto compiled = compile_pattern(text, &error);
  if (!compiled) {
    cx.add(Kind::Unsupported, where, error);
    return;
  }
  regexes_.push_back(compiled);
  node.pattern = compiled.get();
}

void SchemaSet::compile_number_part(const ojson& schema, SchemaNode& node, Context& cx,
                                    const std::string& path) {
  NumberBounds& b = node.bounds;
  auto number = [&](const char* key, double& out) {
    auto it = schema.find(key);
    if (it == schema.end() || it->is_boolean()) return false;
    if (!it->is_number()) {
      cx.add(Kind::Invalid, join(path, key), std::string("'") + key + "' must be a number");
      return false;
    }
    const double v = it->get<double>();
    if (!(std::fabs(v) <= kMaxBound)) {
      cx.add(Kind::Unsupported, join(path, key),
             std::string("'") + key + "' beyond ±1e15 is not supported");
      return false;
    }
    out = v;
    return true;
  };
  double v = 0;
  if (number("minimum", v)) b.minimum = v;
  if (number("maximum", v)) b.maximum = v;
  if (number("exclusiveMinimum", v) && v >= b.minimum) {
    b.minimum = v;
    b.exclusive_minimum = true;
  }
  if (number("exclusiveMaximum", v) && v <= b.maximum) {
    b.maximum = v;
    b.exclusive_maximum = true;
  }
  // Draft 4: exclusiveMinimum/Maximum as booleans modifying minimum/maximum.
  if (auto e = schema.find("exclusiveMinimum"); e != schema.end() && e->is_boolean())
    b.exclusive_minimum = e->get<bool>() && b.minimum != -std::numeric_limits<double>::infinity();
  if (auto e = schema.find("exclusiveMaximum"); e != schema.end() && e->is_boolean())
    b.exclusive_maximum = e->get<bool>() && b.maximum != std::numeric_limits<double>::infinity();

  const bool empty = b.minimum > b.maximum ||
                     (b.minimum == b.maximum && (b.exclusive_minimum || b.exclusive_maximum));
  bool no_integer = false;
  if (!empty && !(node.types & kTypeNumber)) {
    double lo = std::ceil(b.minimum), hi = std::floor(b.maximum);
    if (b.exclusive_minimum && lo == b.minimum) lo += 1;
    if (b.exclusive_maximum && hi == b.maximum) hi -= 1;
    no_integer = lo > hi;
  }
  if (empty || no_integer) {
    cx.add(Kind::Invalid, join(path, schema.contains("maximum") ? "maximum" : "exclusiveMaximum"),
           "no number satisfies the bounds");
    b = NumberBounds{};
  }
}

}  // namespace toolgate::engine::constrained
