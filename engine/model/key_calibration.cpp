#include "engine/model/key_calibration.h"

#include <algorithm>
#include <cmath>

namespace toolgate::engine {
namespace {

// Any ordinary text will do: the offsets being removed are shared by every position whatever the
// words (they come from biases and always-large channels), so the mean over a few hundred tokens
// finds them. Deliberately not the perplexity test text, so the check stays out-of-sample.
constexpr const char* kCalibrationText =
    "The harbour was quiet in the early morning. Fishing boats rocked against the stone pier while "
    "gulls argued over scraps on the rooftops, and the baker at the corner opened his shutters to "
    "let the smell of fresh bread into the street. By nine o'clock the market square was full: "
    "farmers with baskets of apples and onions, a woman selling wool, children chasing a dog "
    "between the stalls. Nobody paid much attention to the stranger who stepped off the ferry "
    "with a small leather case and asked, politely, for directions to the library.\n\n"
    "Q: How do I read a file line by line in Python?\n"
    "A: Open it in a with-block and iterate over the file object:\n\n"
    "    with open(\"data.txt\") as f:\n"
    "        for line in f:\n"
    "            print(line.rstrip())\n\n"
    "Each iteration yields one line, including its newline, so strip it if you print it.\n";

}  // namespace

Transformer::KvTransform quantized_kv_transform(Transformer& transformer, const Tokenizer& tokenizer) {
  const std::vector<int32_t> ids =
      tokenizer.encode(kCalibrationText, /*add_special=*/false, /*parse_special=*/false);
  Transformer::KvStats st = transformer.kv_stats(ids);
  const int HD = transformer.hparams().head_dim;
  // scale = (max(rms, kFloor * head mean) / head mean) ^ kPower. Power 1/2 moves half of the
  // loudness differences out of the stored rows and into the query (SmoothQuant's alpha = 0.5):
  // it beat 0 and 1 on SmolLM2 and Qwen2.5 (int4 perplexity over GPL-3 / declaration.txt); the
  // floor keeps a channel that was quiet here from dominating its group when it is not.
  constexpr double kPower = 0.5, kFloor = 0.3;
  auto to_scales = [&](std::vector<float>& rms) {
    for (size_t h0 = 0; h0 < rms.size(); h0 += static_cast<size_t>(HD)) {
      double mean = 0;
      for (int j = 0; j < HD; ++j) mean += rms[h0 + j] / HD;
      mean = std::max(mean, 1e-6);
      for (int j = 0; j < HD; ++j)
        rms[h0 + j] = static_cast<float>(std::pow(std::max<double>(rms[h0 + j], kFloor * mean) / mean, kPower));
    }
  };
  to_scales(st.key_rms);
  to_scales(st.value_rms);
  Transformer::KvTransform t;
  t.key_offset = std::move(st.key_mean);
  t.key_scale = std::move(st.key_rms);
  t.value_scale = std::move(st.value_rms);
  return t;
}

}  // namespace toolgate::engine
