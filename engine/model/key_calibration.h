#pragma once
// The key offsets the int8 KV path subtracts before quantizing (Transformer::set_key_offsets),
// measured once per model on a fixed text so that every sequence -- and every cached prefix
// block -- is stored against the same offsets.
#include <vector>

#include "engine/model/transformer.h"
#include "engine/tokenizer.h"

namespace toolgate::engine {

// Mean key per layer and channel over a short built-in text (English prose and a little code,
// ~200 tokens). Costs one prefill of that text at start-up.
std::vector<float> int8_key_offsets(Transformer& transformer, const Tokenizer& tokenizer);

}  // namespace toolgate::engine
