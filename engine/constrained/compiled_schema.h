#pragma once
// A response schema compiled once and shared: the nodes, the root the reply must follow and
// what the compiler reported (relaxed or refused parts). SchemaCache keeps recent ones keyed by
// the schema's text, so a repeated schema costs a hash lookup at request start.
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/constrained/json_schema.h"

namespace toolgate::engine::constrained {

struct CompiledSchema {
  SchemaSet set;
  const SchemaNode* root = nullptr;
  std::vector<SchemaIssue> issues;
  double compile_ms = 0;  // what compiling took
};

// `object_root`: the root must be an object (json_object, tool arguments).
std::shared_ptr<const CompiledSchema> compile_schema(const nlohmann::ordered_json& schema,
                                                     bool object_root,
                                                     const SchemaLimits& limits = {});

class SchemaCache {
 public:
  explicit SchemaCache(size_t capacity = 256) : capacity_(capacity) {}
  // The compiled schema for this text, compiling it on a miss. Thread-safe.
  // `compiled_now` (optional) tells whether this call compiled it.
  std::shared_ptr<const CompiledSchema> get(const nlohmann::ordered_json& schema, bool object_root,
                                            const SchemaLimits& limits = {},
                                            bool* compiled_now = nullptr);
  size_t hits() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const CompiledSchema>>;
  mutable std::mutex mu_;
  size_t capacity_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  size_t hits_ = 0;
};

}  // namespace toolgate::engine::constrained
