#include "gateway/ollama_api.h"

#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "engine/tokenizer.h"
#include "gateway/api_error.h"
#include "gateway/chat_response.h"
#include "gateway/fim_prompt.h"
#include "gateway/model_file_facts.h"
#include "gateway/ollama_output.h"
#include "gateway/prompt_renderer.h"

namespace toolgate::gateway {
namespace {

using json = nlohmann::ordered_json;
using Result = std::variant<HttpResponse, ChatCompletionStart>;

HttpResponse ok(const nlohmann::json& j) { return json_response(200, dump_json(j)); }

std::string tagged(const std::string& id) {
  return id.find(':') == std::string::npos ? id + ":latest" : id;
}

std::string join_errors(const std::vector<ParamError>& errors) {
  std::string msg;
  for (const auto& e : errors) msg += (msg.empty() ? "" : " ") + e.message;
  return msg;
}

HttpResponse model_missing(const ModelCatalog& catalog, const std::string& name) {
  if (catalog.is_loading(name)) {
    HttpResponse r = ollama_error(503, "model '" + name + "' is still loading");
    r.set_header("Retry-After", "1");
    return r;
  }
  return ollama_error(404, "model '" + name + "' not found");
}

// ---- model facts -------------------------------------------------------------------------

struct LocalFacts {
  const ServedModel* model;
  std::shared_ptr<const ModelFileFacts> file;
};

std::optional<LocalFacts> facts_of(const ServedModel& m) {
  if (!m.engine) return std::nullopt;
  try {
    return LocalFacts{&m, ModelFileFacts::of(m.engine->model().path)};
  } catch (const std::exception& e) {
    spdlog::warn("model '{}': cannot read file facts: {}", m.id, e.what());
    return std::nullopt;
  }
}

nlohmann::json details_json(const LocalFacts& f) {
  const std::string family = f.file->architecture;
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", family},
          {"families", nlohmann::json::array({family})},
          {"parameter_size", parameter_size_text(f.model->engine->model().n_params)},
          {"quantization_level", f.file->quantization_level}};
}

std::string digest_of(const LocalFacts& f) {
  try {
    return f.file->sha256.get();  // waits the first time (background hash, model_file_facts.h)
  } catch (const std::exception& e) {
    spdlog::warn("model '{}': cannot hash its file: {}", f.model->id, e.what());
    return "";
  }
}

HttpResponse tags(const ModelCatalog& catalog) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : catalog.models()) {
    auto f = facts_of(m);
    if (!f) continue;  // upstream models have no file to describe
    models.push_back({{"name", tagged(m.id)},
                      {"model", tagged(m.id)},
                      {"modified_at", ollama_timestamp(f->file->modified_unix)},
                      {"size", f->file->size},
                      {"digest", digest_of(*f)},
                      {"details", details_json(*f)}});
  }
  return ok({{"models", std::move(models)}});
}

HttpResponse ps(const ModelCatalog& catalog) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : catalog.models()) {
    auto f = facts_of(m);
    if (!f) continue;
    models.push_back({{"name", tagged(m.id)},
                      {"model", tagged(m.id)},
                      {"size", f->file->size},
                      {"digest", digest_of(*f)},
                      {"details", details_json(*f)},
                      // Resident until the server stops.
                      {"expires_at", "9999-12-31T23:59:59Z"},
                      {"size_vram", 0},
                      {"context_length", m.engine->model().context_length}});
  }
  return ok({{"models", std::move(models)}});
}

std::string parameters_text(const ServedModel& m) {
  std::string out;
  auto add = [&](const char* name, auto v) {
    if (v) out += std::string(name) + " " + nlohmann::json(*v).dump() + "\n";
  };
  add("temperature", m.sampling.temperature);
  add("top_p", m.sampling.top_p);
  add("top_k", m.sampling.top_k);
  add("min_p", m.sampling.min_p);
  add("repeat_penalty", m.sampling.repetition_penalty);
  add("num_predict", m.sampling.max_tokens);
  out += "num_ctx " + std::to_string(m.engine->model().context_length) + "\n";
  return out;
}

HttpResponse show(const json& body, const ModelCatalog& catalog, std::string& model_for_log) {
  std::string name;
  for (const char* k : {"model", "name"})
    if (body.contains(k) && body[k].is_string()) name = body[k].get<std::string>();
  if (name.empty()) return ollama_error(400, "model is required");
  const ServedModel* m = find_ollama_model(catalog, name);
  if (!m) return model_missing(catalog, name);
  model_for_log = m->id;  // never the requested text itself (see http_api.cpp)
  auto f = facts_of(*m);
  if (!f) return ollama_error(400, "model '" + name + "' is served by an upstream server");
  const auto& info = m->engine->model();
  nlohmann::json model_info = f->file->model_info;
  model_info["general.parameter_count"] = info.n_params;
  nlohmann::json caps = nlohmann::json::array({"completion"});
  if (m->tool_syntax) caps.push_back("tools");
  if (!fim_unsupported(*m)) caps.push_back("insert");
  return ok({{"license", info.license},
             {"modelfile", "# Served by Toolgate\nFROM " + info.path + "\n"},
             {"parameters", parameters_text(*m)},
             {"template", info.chat_template},
             {"details", details_json(*f)},
             {"model_info", std::move(model_info)},
             {"capabilities", std::move(caps)},
             {"modified_at", ollama_timestamp(f->file->modified_unix)}});
}

// ---- chat and generate -------------------------------------------------------------------

// Ollama's options onto the OpenAI fields the chat parser checks.
std::optional<HttpResponse> map_options(const json& body, const ServedModel& m, json& openai) {
  auto it = body.find("options");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return ollama_error(400, "options must be an object");
  const json& o = *it;
  static const std::pair<const char*, const char*> kSame[] = {
      {"temperature", "temperature"}, {"top_p", "top_p"},
      {"top_k", "top_k"},             {"min_p", "min_p"},
      {"seed", "seed"},               {"stop", "stop"},
      {"repeat_penalty", "repetition_penalty"},
      {"presence_penalty", "presence_penalty"},
      {"frequency_penalty", "frequency_penalty"}};
  for (const auto& [from, to] : kSame)
    if (o.contains(from) && !o[from].is_null()) openai[to] = o[from];
  if (o.contains("num_predict") && o["num_predict"].is_number_integer()) {
    // -1 (infinite) and -2 (fill the context) leave the server's limit in charge.
    if (o["num_predict"].get<int64_t>() > 0) openai["max_tokens"] = o["num_predict"];
  }
  if (o.contains("num_ctx") && !o["num_ctx"].is_null()) {
    if (!o["num_ctx"].is_number_integer() || o["num_ctx"].get<int64_t>() <= 0)
      return ollama_error(400, "option num_ctx must be a positive integer");
    const int64_t ctx = o["num_ctx"].get<int64_t>();
    const int model_ctx = m.engine->model().context_length;
    if (ctx > model_ctx)
      return ollama_error(400, "num_ctx " + std::to_string(ctx) + " is larger than model '" +
                                   m.id + "' serves (" + std::to_string(model_ctx) +
                                   " tokens); the context length is set in the server's config");
  }
  return std::nullopt;
}

std::optional<HttpResponse> map_format(const json& body, json& openai) {
  auto it = body.find("format");
  if (it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty()))
    return std::nullopt;
  if (it->is_string() && it->get<std::string>() == "json") {
    openai["response_format"] = {{"type", "json_object"}};
  } else if (it->is_object()) {
    openai["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", "ollama"}, {"schema", *it}, {"strict", false}}}};
  } else {
    return ollama_error(400, "format must be \"json\" or a JSON schema object");
  }
  return std::nullopt;
}

bool has_images(const json& v) {
  auto it = v.find("images");
  return it != v.end() && it->is_array() && !it->empty();
}

HttpResponse images_refused(const std::string& model) {
  return ollama_error(400, "model '" + model +
                               "' does not support images: Toolgate serves no vision models");
}

// Ollama's messages as OpenAI messages: tool-call arguments stay objects (the chat parser
// re-serializes them), calls get ids, and a tool result names its call by tool_name.
std::variant<json, HttpResponse> map_messages(const json& body, const std::string& model) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) return json::array();
  if (!it->is_array()) return ollama_error(400, "messages must be an array");
  json out = json::array();
  std::vector<std::pair<std::string, std::string>> open_calls;  // (name, id)
  int next_id = 0;
  for (const auto& m : *it) {
    if (!m.is_object()) return ollama_error(400, "each message must be an object");
    if (has_images(m)) return images_refused(model);
    json msg = {{"role", m.value("role", "")}, {"content", m.value("content", "")}};
    if (m.contains("tool_calls") && m["tool_calls"].is_array() && !m["tool_calls"].empty()) {
      json calls = json::array();
      for (const auto& c : m["tool_calls"]) {
        const json fn = c.value("function", json::object());
        std::string id = "call_" + std::to_string(next_id++);
        open_calls.emplace_back(fn.value("name", ""), id);
        json args = fn.contains("arguments") ? fn["arguments"] : json::object();
        calls.push_back({{"id", id},
                         {"type", "function"},
                         {"function", {{"name", fn.value("name", "")}, {"arguments", args}}}});
      }
      msg["tool_calls"] = std::move(calls);
    }
    if (msg["role"] == "tool") {
      std::string name = m.value("tool_name", m.value("name", ""));
      std::string id = "call_unknown";
      for (auto c = open_calls.begin(); c != open_calls.end(); ++c) {
        if (name.empty() || c->first == name) {
          id = c->second;
          open_calls.erase(c);
          break;
        }
      }
      msg["tool_call_id"] = id;
      if (!name.empty()) msg["name"] = name;
    }
    out.push_back(std::move(msg));
  }
  return out;
}

// An empty chat or prompt only asks Ollama to load the model: answer at once.
HttpResponse load_only(const std::string& name, bool generate) {
  nlohmann::json j = {{"model", name}, {"created_at", ollama_timestamp_now()}};
  if (generate)
    j["response"] = "";
  else
    j["message"] = {{"role", "assistant"}, {"content", ""}};
  j["done"] = true;
  j["done_reason"] = "load";
  return ok(j);
}

Result chat_or_generate(const json& body, std::shared_ptr<const ModelCatalog> catalog,
                        bool generate, std::string& model_for_log) {
  std::string name = body.value("model", "");
  if (name.empty()) return ollama_error(400, "model is required");
  const ServedModel* m = find_ollama_model(*catalog, name);
  if (!m) return model_missing(*catalog, name);
  model_for_log = m->id;
  if (!m->engine) return ollama_error(400, "model '" + name + "' is served by an upstream server; "
                                           "use /v1/chat/completions for it");
  if (has_images(body)) return images_refused(name);
  // keep_alive is accepted and ignored: models stay loaded for the life of the server.

  json openai = json::object();
  openai["model"] = m->id;
  openai["stream"] = true;  // the translator reads the job's stream, see chat_stream_translator.h
  openai["stream_options"] = {{"include_usage", true}};
  const bool client_streams = !body.contains("stream") || body["stream"] != false;
  if (auto err = map_options(body, *m, openai)) return *err;
  if (auto err = map_format(body, openai)) return *err;

  std::optional<FimRequest> fim;
  std::optional<std::string> raw_prompt;
  if (generate) {
    std::string prompt = body.value("prompt", "");
    std::string suffix = body.value("suffix", "");
    if (prompt.empty() && suffix.empty()) return load_only(name, true);
    if (!suffix.empty()) {
      if (auto msg = fim_unsupported(*m))
        return ollama_error(400, "model '" + name + "' does not support insert: " + *msg);
      fim = FimRequest{};
      fim->prefix = prompt;
      fim->suffix = suffix;
    } else if (body.value("raw", false)) {
      raw_prompt = prompt;
    } else {
      json msgs = json::array();
      if (body.contains("system") && body["system"].is_string() &&
          !body["system"].get<std::string>().empty())
        msgs.push_back({{"role", "system"}, {"content", body["system"]}});
      msgs.push_back({{"role", "user"}, {"content", prompt}});
      openai["messages"] = std::move(msgs);
    }
    if (fim || raw_prompt) openai["messages"] = json::array({{{"role", "user"}, {"content", ""}}});
  } else {
    auto msgs = map_messages(body, name);
    if (auto* err = std::get_if<HttpResponse>(&msgs)) return *err;
    if (std::get<json>(msgs).empty()) return load_only(name, false);
    openai["messages"] = std::move(std::get<json>(msgs));
    if (body.contains("tools") && body["tools"].is_array() && !body["tools"].empty())
      openai["tools"] = body["tools"];
  }

  ChatRequestParse parsed = parse_chat_completion_request(openai);
  if (!parsed.request) return ollama_error(400, join_errors(parsed.errors));
  ChatCompletionRequest req = std::move(*parsed.request);
  // /api/generate has no tools: the model's server tools are not offered either.
  if (generate) req.tool_choice = ToolChoice{ToolChoice::Mode::None, {}};
  if (fim || raw_prompt) {
    req.messages.clear();
    req.tool_choice = ToolChoice{ToolChoice::Mode::None, {}};
    if (fim) {
      req.raw_prompts.push_back(
          [fim = *fim](const engine::Tokenizer& t) { return build_fim_prompt(t, fim); });
    } else {
      // raw: the client wrote the template markup itself, so special tokens are parsed.
      req.raw_prompts.push_back([text = *raw_prompt](const engine::Tokenizer& t) {
        auto ids = t.encode(text, true, true);
        if (ids.empty()) throw PromptRenderError("the prompt is empty");
        return ids;
      });
    }
  }

  OllamaOutputOptions out;
  out.model = name;
  out.stream = client_streams;
  out.generate = generate;
  ChatCompletionStart start;
  start.request = std::move(req);
  start.catalog = std::move(catalog);
  start.model = m;
  start.wrap_sink = [out](std::shared_ptr<ResponseSink> sink) {
    return make_ollama_sink(std::move(sink), out);
  };
  return start;
}

}  // namespace

const ServedModel* find_ollama_model(const ModelCatalog& catalog, const std::string& name) {
  if (const ServedModel* m = catalog.find(name)) return m;
  constexpr std::string_view kLatest = ":latest";
  if (name.size() > kLatest.size() &&
      name.compare(name.size() - kLatest.size(), kLatest.size(), kLatest) == 0)
    return catalog.find(name.substr(0, name.size() - kLatest.size()));
  return nullptr;
}

Result handle_ollama_request(const HttpRequest& req, std::shared_ptr<const ModelCatalog> catalog,
                             std::string& model_for_log) {
  const std::string path(req.path());
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  auto method_error = [&](const char* allow) {
    HttpResponse r = ollama_error(405, "method " + req.method + " not allowed on " + path);
    r.set_header("Allow", allow);
    return r;
  };
  if (path == "/api/version") return get ? ok({{"version", kOllamaApiVersion}}) : method_error("GET");
  if (path == "/api/tags") return get ? tags(*catalog) : method_error("GET");
  if (path == "/api/ps") return get ? ps(*catalog) : method_error("GET");
  const bool is_show = path == "/api/show", is_chat = path == "/api/chat",
             is_generate = path == "/api/generate";
  if (!is_show && !is_chat && !is_generate)
    return ollama_error(404, "Toolgate does not serve " + path +
                                 " (supported: /api/version, /api/tags, /api/ps, /api/show, "
                                 "/api/chat, /api/generate)");
  if (!post) return method_error("POST");
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return ollama_error(400, "invalid JSON body: expected an object");
  if (is_show) return show(body, *catalog, model_for_log);
  return chat_or_generate(body, std::move(catalog), is_generate, model_for_log);
}

}  // namespace toolgate::gateway
