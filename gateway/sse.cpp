#include "gateway/sse.h"

#include "gateway/chat_response.h"

namespace toolgate::gateway {

std::string sse_event(const nlohmann::json& payload) {
  std::string out = "data: ";
  out += dump_json(payload);
  out += "\n\n";
  return out;
}

std::string_view sse_done() { return "data: [DONE]\n\n"; }

}  // namespace toolgate::gateway
