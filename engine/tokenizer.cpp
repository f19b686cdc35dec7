#include "engine/tokenizer.h"

#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/spm_tokenizer.h"
#include "engine/tokenizer/vocabulary.h"

namespace toolgate::engine {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  Vocabulary vocab = Vocabulary::from_gguf(file);
  if (vocab.model == Vocabulary::Model::kSpm) return std::make_unique<SpmTokenizer>(std::move(vocab));
  return std::make_unique<BpeTokenizer>(std::move(vocab));
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  bool strip_space = adds_space_prefix();
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string piece = token_to_piece(ids[i], render_special);
    if (i == 0 && ids[i] == bos_id()) {
      out += piece;  // the space prefix belongs to the text after a leading BOS
      continue;
    }
    if (strip_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    strip_space = false;
    out += piece;
  }
  return out;
}

}  // namespace toolgate::engine
