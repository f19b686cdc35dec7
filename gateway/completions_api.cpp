#include "gateway/completions_api.h"

#include "engine/engine.h"
#include "engine/tokenizer.h"
#include "gateway/completions_output.h"
#include "gateway/fim_prompt.h"
#include "gateway/prompt_renderer.h"

namespace toolgate::gateway {
namespace {

using json = nlohmann::ordered_json;

constexpr int kMaxChoices = 64;     // prompts x n
constexpr int kLegacyMaxTokens = 16;  // OpenAI's default for /v1/completions

std::string join_errors(const std::vector<ParamError>& errors) {
  std::string msg;
  for (const auto& e : errors) msg += (msg.empty() ? "" : " ") + e.message;
  return msg;
}

// The sampling fields the legacy endpoint shares with chat completions go through the chat
// parser, so their checks and error texts are the same; the rest is read here.
std::variant<ChatCompletionRequest, ApiError> parse_shared_fields(json body) {
  for (const char* k : {"prompt", "suffix", "echo", "logprobs", "best_of", "messages", "tools",
                        "tool_choice", "response_format", "top_logprobs"})
    body.erase(k);
  body["messages"] = json::array({{{"role", "user"}, {"content", ""}}});
  ChatRequestParse parsed = parse_chat_completion_request(body);
  if (!parsed.request) {
    const auto& first = parsed.errors.front();
    return ApiError::invalid_request(join_errors(parsed.errors),
                                     first.param.empty() ? std::nullopt
                                                         : std::optional<std::string>(first.param));
  }
  ChatCompletionRequest req = std::move(*parsed.request);
  req.messages.clear();
  req.tool_choice = ToolChoice{ToolChoice::Mode::None, {}};  // no tools without a template
  return req;
}

struct PromptList {
  std::vector<std::string> texts;                 // string prompts
  std::vector<std::vector<int32_t>> token_lists;  // token prompts
};

std::variant<PromptList, ApiError> read_prompts(const json& body, int32_t n_vocab) {
  PromptList out;
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null())
    return ApiError::invalid_request("Missing required parameter: 'prompt'.", "prompt");
  const json& p = *it;
  auto bad = [] {
    return ApiError::invalid_request(
        "Invalid type for 'prompt': expected a string, an array of strings, an array of "
        "tokens, or an array of token arrays.",
        "prompt");
  };
  auto read_tokens = [&](const json& arr, std::vector<int32_t>& toks) -> std::optional<ApiError> {
    for (const auto& t : arr) {
      if (!t.is_number_integer()) return bad();
      int64_t id = t.get<int64_t>();
      if (id < 0 || id >= n_vocab)
        return ApiError::invalid_request("Invalid 'prompt': token id " + std::to_string(id) +
                                             " is out of range; the vocabulary has " +
                                             std::to_string(n_vocab) + " tokens.",
                                         "prompt");
      toks.push_back(static_cast<int32_t>(id));
    }
    return std::nullopt;
  };
  if (p.is_string()) {
    out.texts.push_back(p.get<std::string>());
  } else if (p.is_array() && !p.empty() && p[0].is_string()) {
    for (const auto& s : p) {
      if (!s.is_string()) return bad();
      out.texts.push_back(s.get<std::string>());
    }
  } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
    out.token_lists.emplace_back();
    if (auto err = read_tokens(p, out.token_lists.back())) return *err;
  } else if (p.is_array() && !p.empty() && p[0].is_array()) {
    for (const auto& arr : p) {
      if (!arr.is_array() || arr.empty()) return bad();
      out.token_lists.emplace_back();
      if (auto err = read_tokens(arr, out.token_lists.back())) return *err;
    }
  } else {
    if (p.is_array() && p.empty())
      return ApiError::invalid_request("Invalid 'prompt': empty array.", "prompt");
    return bad();
  }
  return out;
}

const ServedModel* local_model(const std::shared_ptr<const ModelCatalog>& catalog,
                               const std::string& id, std::optional<ApiError>& error) {
  const ServedModel* m = catalog->find(id);
  if (!m) {
    error = catalog->is_loading(id) ? ApiError::model_loading(id) : ApiError::model_not_found(id);
    return nullptr;
  }
  if (!m->engine) {
    error = ApiError::invalid_request(
        "Model '" + m->id + "' is served by an upstream server; this endpoint supports local "
        "models only.", "model");
    return nullptr;
  }
  return m;
}

PromptBuilder text_prompt(std::string text) {
  return [text = std::move(text)](const engine::Tokenizer& tok) {
    auto ids = tok.encode(text, /*add_special=*/true, /*parse_special=*/true);
    if (ids.empty()) throw PromptRenderError("Invalid 'prompt': the prompt is empty.");
    return ids;
  };
}

}  // namespace

std::variant<ChatCompletionStart, ApiError> parse_text_completion(
    const json& body, std::shared_ptr<const ModelCatalog> catalog) {
  if (!body.is_object())
    return ApiError::invalid_request("Invalid request body: expected a JSON object.");
  auto shared = parse_shared_fields(body);
  if (auto* err = std::get_if<ApiError>(&shared)) return *err;
  ChatCompletionRequest req = std::move(std::get<ChatCompletionRequest>(shared));

  std::optional<ApiError> error;
  const ServedModel* m = local_model(catalog, req.model, error);
  if (!m) return *error;
  const auto& tok = m->engine->tokenizer();

  auto prompts = read_prompts(body, tok.n_vocab());
  if (auto* err = std::get_if<ApiError>(&prompts)) return *err;
  PromptList& list = std::get<PromptList>(prompts);

  std::optional<std::string> suffix;
  if (auto s = body.find("suffix"); s != body.end() && !s->is_null()) {
    if (!s->is_string())
      return ApiError::invalid_request("Invalid type for 'suffix': expected a string.", "suffix");
    suffix = s->get<std::string>();
    if (auto msg = fim_unsupported(*m)) return ApiError::invalid_request(*msg, "suffix");
    if (list.texts.empty())
      return ApiError::invalid_request("Invalid 'prompt': 'suffix' needs text prompts.", "prompt");
  }
  bool echo = false;
  if (auto e = body.find("echo"); e != body.end() && !e->is_null()) {
    if (!e->is_boolean())
      return ApiError::invalid_request("Invalid type for 'echo': expected a boolean.", "echo");
    echo = e->get<bool>();
  }
  if (auto lp = body.find("logprobs"); lp != body.end() && !lp->is_null()) {
    if (!lp->is_number_integer() || lp->get<int64_t>() < 0 || lp->get<int64_t>() > 20)
      return ApiError::invalid_request(
          "Invalid 'logprobs': expected an integer between 0 and 20.", "logprobs");
    req.logprobs = true;
    req.top_logprobs = static_cast<int>(lp->get<int64_t>());
  }
  if (echo && req.logprobs)
    return ApiError::invalid_request(
        "'echo' together with 'logprobs' is not supported: prompt token logprobs are not "
        "computed.", "echo");
  if (auto b = body.find("best_of"); b != body.end() && !b->is_null()) {
    if (!b->is_number_integer() || (b->get<int64_t>() != 1 && b->get<int64_t>() != req.n))
      return ApiError::invalid_request("'best_of' other than 1 (or n) is not supported.",
                                       "best_of");
  }

  TextCompletionOptions out;
  out.model = m->id;
  out.stream = req.stream;
  out.include_usage = req.include_usage;
  out.logprobs = req.logprobs;
  out.n = req.n;
  for (auto& text : list.texts) {
    if (echo) out.echo.push_back(text);
    if (suffix) {
      FimRequest fim;
      fim.prefix = text;
      fim.suffix = *suffix;
      req.raw_prompts.push_back(
          [fim = std::move(fim)](const engine::Tokenizer& t) { return build_fim_prompt(t, fim); });
    } else {
      req.raw_prompts.push_back(text_prompt(std::move(text)));
    }
  }
  for (auto& toks : list.token_lists) {
    if (echo) out.echo.push_back(tok.decode(toks));
    req.raw_prompts.push_back([toks = std::move(toks)](const engine::Tokenizer&) { return toks; });
  }
  if (req.choice_count() > kMaxChoices)
    return ApiError::invalid_request("Too many choices: prompts x n is at most " +
                                         std::to_string(kMaxChoices) + ".",
                                     "n");
  if (!req.max_tokens) req.max_tokens = kLegacyMaxTokens;
  req.stream = true;  // the translator reads the job's stream (chat_stream_translator.h)
  req.include_usage = true;

  ChatCompletionStart start;
  start.request = std::move(req);
  start.catalog = std::move(catalog);
  start.model = m;
  start.wrap_sink = [out = std::move(out)](std::shared_ptr<ResponseSink> sink) {
    return make_text_completion_sink(std::move(sink), out);
  };
  return start;
}

std::variant<ChatCompletionStart, ApiError> parse_infill(
    const json& body_in, std::shared_ptr<const ModelCatalog> catalog) {
  if (!body_in.is_object())
    return ApiError::invalid_request("Invalid request body: expected a JSON object.");
  json body = body_in;
  auto str = [&](const char* key, bool required, std::string& out) -> std::optional<ApiError> {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
      if (required)
        return ApiError::invalid_request(std::string("\"") + key + "\" is required", key);
      return std::nullopt;
    }
    if (!it->is_string())
      return ApiError::invalid_request(std::string("\"") + key + "\" must be a string", key);
    out = it->get<std::string>();
    return std::nullopt;
  };
  FimRequest fim;
  fim.repo_level = true;
  fim.llama_cpp_limits = true;
  if (auto e = str("input_prefix", true, fim.prefix)) return *e;
  if (auto e = str("input_suffix", true, fim.suffix)) return *e;
  if (auto e = str("prompt", false, fim.prompt)) return *e;
  if (auto e = str("repo_name", false, fim.repo_name)) return *e;
  if (auto e = str("filename", false, fim.filename)) return *e;
  if (auto it = body.find("input_extra"); it != body.end() && !it->is_null()) {
    if (!it->is_array())
      return ApiError::invalid_request(
          "\"input_extra\" must be an array of {\"filename\": string, \"text\": string}",
          "input_extra");
    for (const auto& chunk : *it) {
      if (!chunk.is_object() || !chunk.contains("text") || !chunk["text"].is_string())
        return ApiError::invalid_request(
            "extra_context chunk must contain a \"text\" field with a string value",
            "input_extra");
      FimFile f;
      f.text = chunk["text"].get<std::string>();
      if (chunk.contains("filename")) {
        if (!chunk["filename"].is_string())
          return ApiError::invalid_request(
              "extra_context chunk's \"filename\" field must be a string", "input_extra");
        f.filename = chunk["filename"].get<std::string>();
      }
      fim.extra.push_back(std::move(f));
    }
  }

  // The model: named, or the first local model that can fill in the middle.
  const ServedModel* m = nullptr;
  if (auto it = body.find("model"); it != body.end() && it->is_string()) {
    std::optional<ApiError> error;
    m = local_model(catalog, it->get<std::string>(), error);
    if (!m) return *error;
  } else {
    for (const auto& candidate : catalog->models())
      if (candidate.engine && !fim_unsupported(candidate)) {
        m = &candidate;
        break;
      }
    if (!m)
      return ApiError::invalid_request(
          "No served model supports fill-in-the-middle; add a code model such as "
          "Qwen2.5-Coder.");
  }
  if (auto msg = fim_unsupported(*m)) return ApiError::invalid_request(*msg, "model");

  // llama.cpp's sampling names onto the chat fields.
  json shared = json::object();
  shared["model"] = m->id;
  if (auto it = body.find("n_predict"); it != body.end() && it->is_number_integer()) {
    if (it->get<int64_t>() > 0) shared["max_tokens"] = *it;
  }
  for (const char* k : {"temperature", "top_p", "top_k", "min_p", "seed", "stop",
                        "presence_penalty", "frequency_penalty", "stream", "ignore_eos", "adapter",
                        "lora"})
    if (body.contains(k)) shared[k] = body[k];
  if (body.contains("repeat_penalty")) shared["repetition_penalty"] = body["repeat_penalty"];
  if (shared.contains("stop") && shared["stop"].is_array() && shared["stop"].empty())
    shared.erase("stop");
  auto parsed = parse_shared_fields(shared);
  if (auto* err = std::get_if<ApiError>(&parsed)) return *err;
  ChatCompletionRequest req = std::move(std::get<ChatCompletionRequest>(parsed));
  req.raw_prompts.push_back(
      [fim = std::move(fim)](const engine::Tokenizer& t) { return build_fim_prompt(t, fim); });

  InfillOptions out;
  out.model = m->id;
  out.stream = req.stream;
  ChatCompletionStart start;
  start.request = std::move(req);
  start.request.stream = true;
  start.request.include_usage = true;
  start.catalog = std::move(catalog);
  start.model = m;
  start.wrap_sink = [out](std::shared_ptr<ResponseSink> sink) {
    return make_infill_sink(std::move(sink), out);
  };
  return start;
}

}  // namespace toolgate::gateway
