#include "gateway/affinity_key.h"

#include "gateway/balancer.h"

namespace toolgate::gateway {

uint64_t upstream_affinity_key(const nlohmann::ordered_json& body) {
  auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array() || messages->empty()) return 0;
  std::string text;
  if (auto model = body.find("model"); model != body.end() && model->is_string())
    text += model->get<std::string>();
  for (const auto& m : *messages) {
    if (!m.is_object()) break;
    auto role = m.find("role");
    auto content = m.find("content");
    const std::string r = role != m.end() && role->is_string() ? role->get<std::string>() : "";
    text += '\x1e';
    text += r;
    text += '\x1f';
    if (content != m.end())
      text += content->is_string() ? content->get<std::string>() : content->dump();
    // The first user message closes the stable prefix.
    if (r != "system" && r != "developer") break;
  }
  return affinity_hash(text);
}

}  // namespace toolgate::gateway
