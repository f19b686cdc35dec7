#pragma once
// Test doubles for the gateway: a scripted engine (its own thread, like the real one), a
// byte-level tokenizer, a ChatML renderer, a Hermes-style tool-call syntax and a toolbox.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "engine/engine.h"
#include "engine/tokenizer.h"
#include "gateway/prompt_renderer.h"
#include "gateway/server_toolbox.h"
#include "gateway/tool_call_syntax.h"

namespace toolgate::gateway::testing {

// Byte-level: token id = byte value; 256 = BOS, 257 = EOS.
class FakeTokenizer : public engine::Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool) const override;
  std::string token_to_piece(int32_t id, bool) const override;
  int32_t n_vocab() const override { return 258; }
  int32_t bos_id() const override { return 256; }
  int32_t eos_id() const override { return 257; }
  bool is_eog(int32_t id) const override { return id == 257; }
  bool is_control(int32_t id) const override { return id >= 256; }
  const std::string& token_text(int32_t id) const override;
  int32_t find_token(std::string_view) const override { return -1; }

 private:
  std::string bos_ = "<s>", eos_ = "</s>", byte_;
};

// Emits a scripted list of token texts per sequence, one step every `step` on its own thread,
// round-robin over running sequences (so concurrency is visible).
class FakeEngine : public engine::Engine {
 public:
  struct Options {
    std::chrono::milliseconds step{1};
    int context_length = 4096;
    // What to generate for a prompt (the prompt text decoded from bytes).
    std::function<std::vector<std::string>(const std::string& prompt)> script;
    std::optional<engine::EngineError::Kind> refuse;  // submit() throws this
    std::string chat_template;                        // ModelInfo::chat_template
    std::string architecture = "llama";
    std::vector<engine::ModelInfo::Adapter> adapters;  // ModelInfo::adapters
  };
  explicit FakeEngine(Options options);
  ~FakeEngine() override;

  SequenceId submit(engine::GenerationRequest request) override;
  void cancel(SequenceId id) override;
  engine::EngineStats stats() const override;
  const engine::ModelInfo& model() const override { return info_; }
  const engine::Tokenizer& tokenizer() const override { return tokenizer_; }
  void shutdown() override;

  // Observations for tests.
  std::vector<engine::GenerationRequest> submitted() const;  // callbacks stripped
  // The logits processor of each submission (null where none), in submission order.
  std::vector<std::shared_ptr<engine::LogitsProcessor>> processors() const;
  std::vector<std::string> prompts() const;
  std::set<SequenceId> cancelled() const;
  int active() const;  // sequences not yet finished
  bool wait_idle(std::chrono::milliseconds timeout) const;
  void set_refuse(std::optional<engine::EngineError::Kind> kind);

 private:
  struct Seq {
    SequenceId id;
    engine::GenerationRequest request;
    std::vector<std::string> script;
    size_t next = 0;
    bool cancelled = false;
  };
  void loop();

  Options options_;
  FakeTokenizer tokenizer_;
  engine::ModelInfo info_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<std::shared_ptr<Seq>> running_;
  std::vector<engine::GenerationRequest> submitted_;
  std::vector<std::shared_ptr<engine::LogitsProcessor>> processors_;
  std::vector<std::string> prompts_;
  std::set<SequenceId> cancelled_;
  SequenceId next_id_ = 1;
  uint64_t generated_ = 0;
  uint64_t prompt_total_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// "<|im_start|>role\ncontent<|im_end|>\n" ...; tools go into a system preamble as JSON.
class ChatMlRenderer : public PromptRenderer {
 public:
  std::string render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                     bool add_generation_prompt) const override;
};

// Hermes: <tool_call>{"name": ..., "arguments": {...}}</tool_call>
class HermesSyntax : public ToolCallSyntax {
 public:
  std::unique_ptr<ToolCallStreamParser> make_parser() const override;
  std::string forced_call_prefix(std::optional<std::string> name) const override;
};

// "add" {a, b} -> a+b; "fail" -> error; records calls.
class FakeToolbox : public ServerToolbox {
 public:
  bool has(const std::string& name) const override { return name == "add" || name == "fail"; }
  nlohmann::json openai_tools_json(const std::vector<std::string>& names) const override;
  ServerToolOutcome invoke(const std::string& name, const nlohmann::json& arguments,
                           std::chrono::milliseconds timeout) const override;
  mutable std::atomic<int> calls{0};
};

}  // namespace toolgate::gateway::testing
