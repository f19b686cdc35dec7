#include "gateway/chat_stream_translator.h"

#include "gateway/chat_response.h"

namespace toolgate::gateway {

using nlohmann::json;

double ms_between(ChatStreamTranslator::Clock::time_point a,
                  ChatStreamTranslator::Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int64_t ns_between(ChatStreamTranslator::Clock::time_point a,
                   ChatStreamTranslator::Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

TranslatedError read_translated_error(int status, const std::string& body) {
  TranslatedError e;
  e.status = status;
  json j = json::parse(body, nullptr, false);
  const json* err = (j.is_object() && j.contains("error")) ? &j["error"] : nullptr;
  if (err && err->is_object()) {
    e.message = err->value("message", "");
    e.type = err->value("type", "");
    if (err->contains("param")) e.param = (*err)["param"];
    if (err->contains("code")) e.code = (*err)["code"];
  } else {
    e.message = body;
  }
  return e;
}

ChatStreamTranslator::ChatStreamTranslator(std::shared_ptr<ResponseSink> out, bool client_streams)
    : out_(std::move(out)), client_streams_(client_streams) {}

void ChatStreamTranslator::send_response(HttpResponse response) {
  // The job runs streamed, so a whole response is always an error from before the stream.
  ended_ = Clock::now();
  ended_response_ = true;
  TranslatedError err = read_translated_error(response.status, response.body);
  HttpResponse r = error_response(err);
  // Keep Retry-After and friends.
  for (const auto& [k, v] : response.headers)
    if (k != "Content-Type" && k != "Content-Length") r.set_header(k, v);
  out_->send_response(std::move(r));
}

void ChatStreamTranslator::begin_stream(HttpResponse head) {
  if (!client_streams_) return;
  head.set_header("Content-Type", stream_content_type());
  stream_begun_ = true;
  out_->begin_stream(std::move(head));
}

void ChatStreamTranslator::stream_data(std::string data) {
  std::string out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find("\n\n", pos);
    if (end == std::string::npos) end = data.size();
    std::string_view event(data.data() + pos, end - pos);
    pos = end + 2;
    if (event.rfind("data: ", 0) != 0) continue;
    event.remove_prefix(6);
    if (event == "[DONE]") {
      ended_ = Clock::now();
      if (client_streams_ && !errored_) out += stream_end();
      continue;
    }
    json j = json::parse(event, nullptr, false);
    if (j.is_discarded()) continue;
    if (j.contains("error")) {
      ended_ = Clock::now();
      errored_ = true;
      TranslatedError err = read_translated_error(500, std::string(event));
      // In-band errors lost their status on the way; a client that does not stream gets it
      // back from the code (the job streams even then, so a timeout arrives this way).
      if (err.code == "request_timeout") err.status = 504;
      if (err.code == "service_unavailable") err.status = 503;
      if (client_streams_) {
        out += stream_error(err);
      } else if (!ended_response_) {
        ended_response_ = true;
        out_->send_response(error_response(err));
      }
      continue;
    }
    on_event(j, out);
  }
  if (client_streams_ && !out.empty()) out_->stream_data(std::move(out));
}

void ChatStreamTranslator::end_stream() {
  if (client_streams_) return out_->end_stream();
  if (ended_response_) return;
  ended_response_ = true;
  out_->send_response(whole_response());
}

TranslatedChoice& ChatStreamTranslator::choice(int index) {
  if (index < 0) index = 0;
  if (static_cast<size_t>(index) >= choices_.size()) choices_.resize(static_cast<size_t>(index) + 1);
  return choices_[static_cast<size_t>(index)];
}

void ChatStreamTranslator::absorb_tool_call_delta(TranslatedChoice& c, const json& d) {
  const size_t i = d.value("index", 0);
  while (c.tool_calls.size() <= i)
    c.tool_calls.push_back(
        {{"id", ""}, {"type", "function"}, {"function", {{"name", ""}, {"arguments", ""}}}});
  json& call = c.tool_calls[i];
  if (d.contains("id") && d["id"].is_string()) call["id"] = d["id"];
  if (const auto fn = d.find("function"); fn != d.end() && fn->is_object()) {
    if (fn->contains("name") && (*fn)["name"].is_string()) call["function"]["name"] = (*fn)["name"];
    if (fn->contains("arguments") && (*fn)["arguments"].is_string())
      call["function"]["arguments"] =
          call["function"]["arguments"].get<std::string>() + (*fn)["arguments"].get<std::string>();
  }
}

void ChatStreamTranslator::on_event(const json& j, std::string& out) {
  if (id_.empty() && j.contains("id")) id_ = j["id"].get<std::string>();
  if (!created_ && j.contains("created")) created_ = j["created"].get<int64_t>();
  if (const auto u = j.find("usage"); u != j.end() && u->is_object()) {
    usage_.prompt_tokens = u->value("prompt_tokens", 0);
    usage_.completion_tokens = u->value("completion_tokens", 0);
    if (u->contains("prompt_tokens_details") && (*u)["prompt_tokens_details"].is_object())
      usage_.cached_tokens = (*u)["prompt_tokens_details"].value("cached_tokens", 0);
  }
  const auto chs = j.find("choices");
  if (chs == j.end() || !chs->is_array()) return;
  for (const auto& ch : *chs) {
    const int index = ch.value("index", 0);
    TranslatedChoice& c = choice(index);
    const json& delta = ch.contains("delta") ? ch["delta"] : json::object();
    std::string text;
    if (delta.contains("content") && delta["content"].is_string())
      text = delta["content"].get<std::string>();
    json lp = json::array();
    if (ch.contains("logprobs") && ch["logprobs"].is_object() &&
        ch["logprobs"].contains("content") && ch["logprobs"]["content"].is_array())
      lp = ch["logprobs"]["content"];
    const bool is_role_chunk = delta.contains("role");
    if (!is_role_chunk && (!text.empty() || !lp.empty() || delta.contains("tool_calls"))) {
      if (!first_token_) first_token_ = Clock::now();
    }
    if (!text.empty() || !lp.empty()) {
      c.content += text;
      for (const auto& e : lp) c.logprobs.push_back(e);
      if (client_streams_) out += piece(index, text, lp);
    }
    if (delta.contains("tool_calls") && delta["tool_calls"].is_array())
      for (const auto& d : delta["tool_calls"]) absorb_tool_call_delta(c, d);
    if (delta.contains("toolgate_tool_runs") && delta["toolgate_tool_runs"].is_array())
      for (const auto& r : delta["toolgate_tool_runs"]) c.tool_runs.push_back(r);
    if (ch.contains("finish_reason") && ch["finish_reason"].is_string()) {
      c.finish_reason = ch["finish_reason"].get<std::string>();
      if (client_streams_) out += choice_finished(index);
    }
  }
}

}  // namespace toolgate::gateway
