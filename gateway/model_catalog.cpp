#include "gateway/model_catalog.h"

#include <algorithm>

namespace toolgate::gateway {

const ServedModel* ModelCatalog::find(const std::string& name) const {
  for (const auto& m : models_) {
    if (m.id == name) return &m;
  }
  for (const auto& m : models_) {
    if (std::find(m.aliases.begin(), m.aliases.end(), name) != m.aliases.end()) return &m;
  }
  return nullptr;
}

bool ModelCatalog::is_loading(const std::string& name) const {
  return std::find(loading_.begin(), loading_.end(), name) != loading_.end();
}

nlohmann::json ModelCatalog::model_json(const ServedModel& m) {
  nlohmann::json j = {{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", m.owned_by}};
  if (!m.parent.empty()) j["parent"] = m.parent;  // a LoRA adapter on that model (vLLM's shape)
  return j;
}

nlohmann::json ModelCatalog::list_json() const {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : models_) data.push_back(model_json(m));
  return {{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace toolgate::gateway
