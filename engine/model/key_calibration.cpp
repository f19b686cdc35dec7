#include "engine/model/key_calibration.h"

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

std::vector<float> int8_key_offsets(Transformer& transformer, const Tokenizer& tokenizer) {
  const std::vector<int32_t> ids =
      tokenizer.encode(kCalibrationText, /*add_special=*/false, /*parse_special=*/false);
  return transformer.mean_keys(ids);
}

}  // namespace toolgate::engine
