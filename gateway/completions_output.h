#pragma once
// Output shapes of the non-chat completion endpoints, written from the chat job's stream
// (chat_stream_translator.h): OpenAI's text_completion objects and llama.cpp's /infill answer.
#include <memory>
#include <string>
#include <vector>

#include "gateway/chat_stream_translator.h"

namespace toolgate::engine {
class Tokenizer;
}

namespace toolgate::gateway {

struct TextCompletionOptions {
  std::string model;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;           // legacy logprobs object per choice
  std::vector<std::string> echo;   // per prompt: its text, prepended to each of its choices
  int n = 1;                       // choices per prompt
};

std::shared_ptr<ResponseSink> make_text_completion_sink(std::shared_ptr<ResponseSink> out,
                                                        TextCompletionOptions options);

struct InfillOptions {
  std::string model;
  bool stream = false;
  int max_tokens = 0;  // to tell "limit" from "eos" stops
};

std::shared_ptr<ResponseSink> make_infill_sink(std::shared_ptr<ResponseSink> out,
                                               InfillOptions options);

}  // namespace toolgate::gateway
