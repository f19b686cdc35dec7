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
  // `loading`: ids and aliases of configured models that are not ready yet; requests naming
  // them get 503 model_loading (retry later) rather than 404 (fix your request).
  explicit ModelCatalog(std::vector<ServedModel> models, std::vector<std::string> loading = {})
      : models_(std::move(models)), loading_(std::move(loading)) {}

  const ServedModel* find(const std::string& id_or_alias) const;
  bool is_loading(const std::string& id_or_alias) const;
  const std::vector<ServedModel>& models() const { return models_; }
  bool empty() const { return models_.empty(); }
  // Every configured model is served: what /health reports as ready.
  bool ready() const { return !models_.empty() && loading_.empty(); }

  nlohmann::json list_json() const;  // {"object":"list","data":[...]}
  static nlohmann::json model_json(const ServedModel& model);

 private:
  std::vector<ServedModel> models_;
  std::vector<std::string> loading_;
};

}  // namespace toolgate::gateway
