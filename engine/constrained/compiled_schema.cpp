#include "engine/constrained/compiled_schema.h"

#include <chrono>

namespace toolgate::engine::constrained {

std::shared_ptr<const CompiledSchema> compile_schema(const nlohmann::ordered_json& schema,
                                                     bool object_root,
                                                     const SchemaLimits& limits) {
  const auto t0 = std::chrono::steady_clock::now();
  auto out = std::make_shared<CompiledSchema>();
  out->root = object_root ? out->set.compile_object(schema, &out->issues, limits)
                          : out->set.compile(schema, &out->issues, limits);
  out->compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

std::shared_ptr<const CompiledSchema> SchemaCache::get(const nlohmann::ordered_json& schema,
                                                       bool object_root,
                                                       const SchemaLimits& limits,
                                                       bool* compiled_now) {
  if (compiled_now) *compiled_now = false;
  std::string key = (object_root ? "o" : "v") + std::to_string(limits.max_depth) + ":" +
                    std::to_string(limits.max_nodes) + ":" + schema.dump();
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++hits_;
      return it->second->second;
    }
  }
  // Compile outside the lock; two requests racing on a new schema both compile it once.
  auto compiled = compile_schema(schema, object_root, limits);
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) return it->second->second;
  if (compiled_now) *compiled_now = true;
  lru_.emplace_front(key, compiled);
  index_[std::move(key)] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return compiled;
}

size_t SchemaCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace toolgate::engine::constrained
