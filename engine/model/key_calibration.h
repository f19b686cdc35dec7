#pragma once
// The transform the quantized KV paths (int8, int4) apply before storing keys and values
// (Transformer::set_kv_transform), measured once per model on a fixed text so that every
// sequence -- and every cached prefix block -- is stored the same way.
#include "engine/model/transformer.h"
#include "engine/tokenizer.h"

namespace toolgate::engine {

// From one f16 prefill of a short built-in text (English prose and a little code, ~200
// tokens): key offsets = the mean key per layer and channel; key and value scales from each
// channel's RMS around its mean relative to its head's (see the .cpp for the exact rule).
Transformer::KvTransform quantized_kv_transform(Transformer& transformer, const Tokenizer& tokenizer);

}  // namespace toolgate::engine
