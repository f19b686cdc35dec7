#pragma once
// Server-sent events framing as the OpenAI SDKs read it: each event is one `data:` line holding
// a compact JSON object, followed by a blank line; the stream ends with `data: [DONE]`.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace toolgate::gateway {

// "data: <compact json>\n\n". Compact JSON never contains a newline, so one line suffices.
std::string sse_event(const nlohmann::json& payload);
std::string_view sse_done();  // "data: [DONE]\n\n"

}  // namespace toolgate::gateway
