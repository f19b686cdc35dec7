#include "gateway/upstream_relay.h"

#include "gateway/chat_response.h"

namespace toolgate::gateway {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string dump_ordered(const ojson& j) {
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

ApiError upstream_error(int status, std::string message, std::string code) {
  return ApiError{status, std::move(message), "upstream_error", std::nullopt, std::move(code)};
}

// Where the first event in `s` ends and the next one begins (after the blank line).
struct EventBoundary {
  size_t event_end = std::string::npos;
  size_t next = std::string::npos;
};

EventBoundary find_blank_line(std::string_view s) {
  // A line ends with \r\n, \n or \r; an event ends with an empty line (WHATWG SSE).
  for (size_t i = 0; i < s.size(); ++i) {
    size_t eol = 0;
    if (s[i] == '\n') {
      eol = 1;
    } else if (s[i] == '\r') {
      if (i + 1 == s.size()) return {};  // \r at the end: maybe \r\n, wait for more
      eol = s[i + 1] == '\n' ? 2 : 1;
    } else {
      continue;
    }
    size_t j = i + eol;
    if (j >= s.size()) return {};
    if (s[j] == '\n') return {i, j + 1};
    if (s[j] == '\r') {
      if (j + 1 == s.size()) return {};
      return {i, j + (s[j + 1] == '\n' ? 2 : 1)};
    }
    i = j - 1;
  }
  return {};
}

}  // namespace

std::variant<UpstreamChatRequest, ApiError> parse_upstream_chat_request(ojson body) {
  if (!body.is_object())
    return ApiError::invalid_request("The request body must be a JSON object.");
  UpstreamChatRequest r;
  if (auto it = body.find("stream"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      return ApiError::invalid_request("'stream' must be a boolean.", "stream");
    r.stream = it->get<bool>();
  }
  r.body = std::move(body);
  return r;
}

std::string upstream_request_body(const UpstreamChatRequest& request,
                                  const std::string& remote_model,
                                  const SamplingDefaults& d) {
  ojson body = request.body;
  body["model"] = remote_model;
  auto fill = [&](const char* key, const auto& value) {
    if (!value) return;
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) body[key] = *value;
  };
  fill("temperature", d.temperature);
  fill("top_p", d.top_p);
  fill("top_k", d.top_k);
  fill("min_p", d.min_p);
  fill("repetition_penalty", d.repetition_penalty);
  fill("presence_penalty", d.presence_penalty);
  fill("frequency_penalty", d.frequency_penalty);
  auto given = [&](const char* key) {
    auto it = body.find(key);
    return it != body.end() && !it->is_null();
  };
  if (d.max_tokens && !given("max_tokens") && !given("max_completion_tokens"))
    body["max_tokens"] = *d.max_tokens;
  return dump_ordered(body);
}

std::string rewrite_model_in_json(std::string_view text, const std::string& public_model) {
  ojson j = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("model")) return std::string(text);
  j["model"] = public_model;
  return dump_ordered(j);
}

std::vector<std::string> SseEventSplitter::feed(std::string_view bytes) {
  buffer_.append(bytes);
  std::vector<std::string> events;
  size_t consumed = 0;
  while (true) {
    std::string_view rest = std::string_view(buffer_).substr(consumed);
    EventBoundary b = find_blank_line(rest);
    if (b.next == std::string::npos) break;
    std::string event(rest.substr(0, b.event_end));
    consumed += b.next;
    // A stream may start with blank lines; they separate nothing.
    if (!event.empty()) events.push_back(std::move(event));
  }
  buffer_.erase(0, consumed);
  return events;
}

std::string SseEventSplitter::take_rest() {
  std::string rest = std::move(buffer_);
  buffer_.clear();
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.pop_back();
  return rest;
}

RelayedSseEvent relay_sse_event(std::string_view event, const std::string& public_model) {
  RelayedSseEvent out;
  size_t pos = 0;
  while (pos <= event.size()) {
    size_t eol = event.find_first_of("\r\n", pos);
    std::string_view line =
        event.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.rfind("data:", 0) == 0) {
      std::string_view payload = line.substr(5);
      if (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
      if (payload == "[DONE]") {
        out.done = true;
        out.text += "data: [DONE]\n";
      } else {
        json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
        if (j.is_object()) {
          if (auto u = j.find("usage"); u != j.end() && u->is_object()) out.usage = *u;
          if (j.contains("error")) out.has_error = true;
          out.text += "data: " + rewrite_model_in_json(payload, public_model) + "\n";
        } else {
          out.text += std::string(line) + "\n";
        }
      }
    } else {
      out.text += std::string(line) + "\n";
    }
    if (eol == std::string_view::npos) break;
    pos = eol + (event[eol] == '\r' && eol + 1 < event.size() && event[eol + 1] == '\n' ? 2 : 1);
  }
  out.text += "\n";
  return out;
}

HttpResponse relay_upstream_error(int status, std::string_view body, const std::string& base_url) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error")) {
    auto& e = j["error"];
    if (e.is_object() && e.contains("message")) return json_response(status, dump_json(j));
    // {"error":"text"} (Ollama, some proxies): bring it into OpenAI's shape.
    if (e.is_string())
      return upstream_error(status, e.get<std::string>(), "upstream_error").to_response();
  }
  std::string excerpt(body.substr(0, 200));
  std::string message = "The upstream " + base_url + " answered HTTP " + std::to_string(status);
  if (!excerpt.empty()) message += ": " + excerpt;
  return upstream_error(status, std::move(message), "upstream_error").to_response();
}

ApiError upstream_unreachable(const std::string& base_url, const std::string& detail) {
  return upstream_error(502, "The upstream " + base_url + " could not be reached: " + detail,
                        "upstream_unreachable");
}

ApiError upstream_timeout(const std::string& base_url, std::chrono::milliseconds timeout) {
  return upstream_error(504,
                        "The upstream " + base_url + " did not answer within " +
                            std::to_string(timeout.count()) + " ms.",
                        "upstream_timeout");
}

ApiError upstream_failed(const std::string& base_url, const std::string& detail) {
  return upstream_error(502, "The upstream " + base_url + " failed: " + detail, "upstream_error");
}

}  // namespace toolgate::gateway
