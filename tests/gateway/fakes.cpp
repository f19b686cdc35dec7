#include "fakes.h"

namespace toolgate::gateway::testing {

using nlohmann::json;

std::vector<int32_t> FakeTokenizer::encode(std::string_view text, bool add_special, bool) const {
  std::vector<int32_t> out;
  if (add_special) out.push_back(256);
  for (unsigned char c : text) out.push_back(c);
  return out;
}

std::string FakeTokenizer::token_to_piece(int32_t id, bool) const {
  if (id >= 0 && id < 256) return std::string(1, static_cast<char>(id));
  return "";
}

const std::string& FakeTokenizer::token_text(int32_t id) const {
  return id == 256 ? bos_ : id == 257 ? eos_ : byte_;
}

FakeEngine::FakeEngine(Options options) : options_(std::move(options)) {
  info_.architecture = options_.architecture;
  info_.chat_template = options_.chat_template;
  info_.name = "fake";
  info_.context_length = options_.context_length;
  info_.adapters = options_.adapters;
  thread_ = std::thread([this] { loop(); });
}

FakeEngine::~FakeEngine() { shutdown(); }

engine::Engine::SequenceId FakeEngine::submit(engine::GenerationRequest request) {
  std::lock_guard lock(mu_);
  if (stop_) throw engine::EngineError(engine::EngineError::Kind::ShuttingDown, "shutting down");
  if (options_.refuse) throw engine::EngineError(*options_.refuse, "refused by the fake engine");
  if (static_cast<int>(request.prompt.size()) + request.max_tokens > options_.context_length &&
      static_cast<int>(request.prompt.size()) >= options_.context_length)
    throw engine::EngineError(engine::EngineError::Kind::ContextLengthExceeded,
                              "This model's maximum context length is " +
                                  std::to_string(options_.context_length) +
                                  " tokens. However, your messages resulted in " +
                                  std::to_string(request.prompt.size()) + " tokens.");
  std::string prompt;
  for (int32_t t : request.prompt)
    if (t < 256) prompt += static_cast<char>(t);
  auto seq = std::make_shared<Seq>();
  seq->id = next_id_++;
  seq->script = options_.script ? options_.script(prompt) : std::vector<std::string>{"Hello", "!"};
  engine::GenerationRequest copy = request;
  copy.on_token = nullptr;
  copy.on_finish = nullptr;
  processors_.push_back(copy.logits_processor);
  copy.logits_processor = nullptr;
  submitted_.push_back(std::move(copy));
  prompts_.push_back(prompt);
  prompt_total_ += request.prompt.size();
  seq->request = std::move(request);
  running_.push_back(seq);
  cv_.notify_all();
  return seq->id;
}

void FakeEngine::cancel(SequenceId id) {
  std::lock_guard lock(mu_);
  cancelled_.insert(id);
  for (auto& s : running_)
    if (s->id == id) s->cancelled = true;
  cv_.notify_all();
}

engine::EngineStats FakeEngine::stats() const {
  std::lock_guard lock(mu_);
  engine::EngineStats s;
  s.running = static_cast<int>(running_.size());
  s.kv_blocks_total = 100;
  s.kv_blocks_used = static_cast<int>(running_.size());
  s.generation_tokens_total = generated_;
  s.prompt_tokens_total = prompt_total_;
  return s;
}

void FakeEngine::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    for (auto& s : running_) s->cancelled = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<engine::GenerationRequest> FakeEngine::submitted() const {
  std::lock_guard lock(mu_);
  return submitted_;
}

std::vector<std::shared_ptr<engine::LogitsProcessor>> FakeEngine::processors() const {
  std::lock_guard lock(mu_);
  return processors_;
}

std::vector<std::string> FakeEngine::prompts() const {
  std::lock_guard lock(mu_);
  return prompts_;
}

std::set<engine::Engine::SequenceId> FakeEngine::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

int FakeEngine::active() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(running_.size());
}

bool FakeEngine::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return running_.empty(); });
}

void FakeEngine::set_refuse(std::optional<engine::EngineError::Kind> kind) {
  std::lock_guard lock(mu_);
  options_.refuse = kind;
}

void FakeEngine::loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !running_.empty(); });
    if (running_.empty() && stop_) return;
    // One step: every running sequence advances one token (or finishes).
    std::vector<std::shared_ptr<Seq>> batch(running_.begin(), running_.end());
    std::vector<std::pair<std::shared_ptr<Seq>, engine::FinishEvent>> finished;
    std::vector<std::pair<std::shared_ptr<Seq>, engine::TokenEvent>> tokens;
    for (auto& s : batch) {
      engine::FinishEvent fe;
      fe.prompt_tokens = static_cast<int>(s->request.prompt.size());
      fe.completion_tokens = static_cast<int>(s->next);
      if (s->cancelled) {
        fe.reason = engine::FinishReason::Cancelled;
        finished.emplace_back(s, fe);
      } else if (s->next >= s->script.size()) {
        fe.reason = engine::FinishReason::Stop;
        finished.emplace_back(s, fe);
      } else if (static_cast<int>(s->next) >= s->request.max_tokens) {
        fe.reason = engine::FinishReason::Length;
        finished.emplace_back(s, fe);
      } else {
        engine::TokenEvent ev;
        const std::string& text = s->script[s->next++];
        ev.id = text.empty() ? 0 : static_cast<unsigned char>(text[0]);
        ev.text = text;
        ev.logprob = -0.5f;
        if (s->request.sampling.logprobs)
          for (int k = 0; k < s->request.sampling.top_logprobs; ++k)
            ev.top.push_back({ev.id, text, -0.5f - k});
        ++generated_;
        tokens.emplace_back(s, std::move(ev));
      }
    }
    for (auto& [s, _] : finished) running_.erase(std::find(running_.begin(), running_.end(), s));
    lock.unlock();
    // Callbacks run without the lock, on this (the engine's) thread, as in the real engine.
    for (auto& [s, ev] : tokens) s->request.on_token(std::move(ev));
    for (auto& [s, fe] : finished) s->request.on_finish(std::move(fe));
    std::this_thread::sleep_for(options_.step);
    lock.lock();
    cv_.notify_all();
  }
}

std::string ChatMlRenderer::render(const nlohmann::ordered_json& messages,
                                   const nlohmann::ordered_json& tools,
                                   bool add_generation_prompt) const {
  std::string out;
  if (tools.is_array() && !tools.empty())
    out += "<|im_start|>system\nTools: " + tools.dump() + "<|im_end|>\n";
  for (const auto& m : messages) {
    std::string role = m.at("role").get<std::string>();
    if (role == "boom") throw PromptRenderError("roles must alternate");
    out += "<|im_start|>" + role + "\n";
    if (m.contains("content") && m["content"].is_string()) out += m["content"].get<std::string>();
    if (m.contains("tool_calls"))
      for (const auto& c : m["tool_calls"])
        out += "<tool_call>" + c["function"].dump() + "</tool_call>";
    out += "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

namespace {

class HermesParser : public ToolCallStreamParser {
 public:
  ParsedText feed(std::string_view text) override {
    buf_ += text;
    ParsedText out;
    scan(out, false);
    return out;
  }
  ParsedText finish() override {
    ParsedText out;
    scan(out, true);
    if (!inside_) out.content += buf_;
    buf_.clear();
    return out;
  }

 private:
  static constexpr std::string_view kOpen = "<tool_call>";
  static constexpr std::string_view kClose = "</tool_call>";

  void scan(ParsedText& out, bool final) {
    while (true) {
      if (!inside_) {
        auto pos = buf_.find(kOpen);
        if (pos == std::string::npos) {
          // Hold back a suffix that could be the start of the tag.
          size_t keep = 0;
          for (size_t k = std::min(buf_.size(), kOpen.size() - 1); k > 0; --k) {
            if (kOpen.substr(0, k) == std::string_view(buf_).substr(buf_.size() - k)) {
              keep = k;
              break;
            }
          }
          if (final) keep = 0;
          out.content += buf_.substr(0, buf_.size() - keep);
          buf_.erase(0, buf_.size() - keep);
          return;
        }
        out.content += buf_.substr(0, pos);
        buf_.erase(0, pos + kOpen.size());
        inside_ = true;
      } else {
        auto pos = buf_.find(kClose);
        if (pos == std::string::npos && !final) return;
        std::string body = buf_.substr(0, pos == std::string::npos ? buf_.size() : pos);
        buf_.erase(0, pos == std::string::npos ? buf_.size() : pos + kClose.size());
        inside_ = false;
        json j = json::parse(body, nullptr, false);
        if (j.is_object() && j.contains("name")) {
          ToolCallFragment f;
          f.index = count_++;
          f.name = j["name"].get<std::string>();
          // Two fragments, as a streaming parser would produce.
          std::string args = j.value("arguments", json::object()).dump();
          f.arguments = args.substr(0, args.size() / 2);
          out.tool_calls.push_back(f);
          ToolCallFragment rest;
          rest.index = f.index;
          rest.arguments = args.substr(args.size() / 2);
          out.tool_calls.push_back(rest);
        }
        if (pos == std::string::npos) return;
      }
    }
  }

  std::string buf_;
  bool inside_ = false;
  int count_ = 0;
};

}  // namespace

std::unique_ptr<ToolCallStreamParser> HermesSyntax::make_parser() const {
  return std::make_unique<HermesParser>();
}

std::string HermesSyntax::forced_call_prefix(std::optional<std::string> name) const {
  if (name) return "<tool_call>{\"name\": \"" + *name + "\", \"arguments\": ";
  return "<tool_call>";
}

json FakeToolbox::openai_tools_json(const std::vector<std::string>& names) const {
  json out = json::array();
  for (const auto& n : names)
    out.push_back({{"type", "function"},
                   {"function",
                    {{"name", n},
                     {"description", "server tool " + n},
                     {"parameters", {{"type", "object"}}}}}});
  return out;
}

ServerToolOutcome FakeToolbox::invoke(const std::string& name, const json& arguments,
                                      std::chrono::milliseconds) const {
  ++calls;
  if (name == "add") {
    int64_t sum = arguments.value("a", int64_t{0}) + arguments.value("b", int64_t{0});
    return {true, json(sum).dump(), ""};
  }
  return {false, "", "tool failed on purpose"};
}

}  // namespace toolgate::gateway::testing
