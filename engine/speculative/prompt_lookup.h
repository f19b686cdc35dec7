#pragma once
// Prompt lookup (draft-free speculative proposals): the text a model is about to write often
// repeats text already in its context (tool arguments copy words of the question, a second tool
// call repeats the first one's JSON shape). Find the most recent earlier occurrence of the
// context's last n tokens (n from ngram_max down to ngram_min) and propose the tokens that
// followed it. The idea of llama.cpp's lookup decoding and vLLM's "ngram" proposer; the most
// recent match is preferred because agent transcripts repeat their latest turns.
#include <cstdint>
#include <span>
#include <vector>

namespace toolgate::engine {

// Up to k tokens that followed the latest earlier match of the context's suffix; empty when no
// suffix of length ngram_min..ngram_max occurs earlier. O(context * ngram_max).
std::vector<int32_t> propose_by_prompt_lookup(std::span<const int32_t> context, int k,
                                              int ngram_min, int ngram_max);

}  // namespace toolgate::engine
