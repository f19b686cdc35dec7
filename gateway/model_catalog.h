#pragma once
// The models the server answers for, looked up by id or alias; the /v1/models bodies.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/options.h"

namespace toolgate::gateway {

class ModelCatalog {
 public:
  ModelCatalog() = default;
  explicit ModelCatalog(std::vector<ServedModel> models) : models_(std::move(models)) {}

  const ServedModel* find(const std::string& id_or_alias) const;
  const std::vector<ServedModel>& models() const { return models_; }
  bool empty() const { return models_.empty(); }

  nlohmann::json list_json() const;  // {"object":"list","data":[...]}
  static nlohmann::json model_json(const ServedModel& model);

 private:
  std::vector<ServedModel> models_;
};

}  // namespace toolgate::gateway
