#include "engine/constrained/token_byte_index.h"

#include <algorithm>

#include "engine/constrained/json_recognizer.h"
#include "engine/tokenizer.h"

namespace toolgate::engine::constrained {
namespace {

std::vector<int32_t> ids_where(const std::vector<TokenByteIndex::Class>& classes,
                               const std::vector<uint8_t>* exclude) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == TokenByteIndex::Class::Text && !(exclude && (*exclude)[i]))
      ids.push_back(static_cast<int32_t>(i));
  return ids;
}

}  // namespace

bool is_string_safe(std::string_view bytes) {
  uint8_t state = 0;
  bool starts = false;
  for (char c : bytes) {
    if (c == '"' || c == '\\') return false;
    if (feed_string_byte(state, static_cast<uint8_t>(c), starts) != StringByte::Accept)
      return false;
  }
  return state == 0;  // ends between characters
}

TokenTrie::TokenTrie(const std::vector<std::string>& pieces, std::vector<int32_t> ids) {
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return pieces[static_cast<size_t>(a)] < pieces[static_cast<size_t>(b)];
  });
  nodes_.reserve(ids.size() * 2);
  build(pieces, ids, 0, ids.size(), 0);
}

// ids[lo, hi) share their first `depth` bytes; returns the node standing for that prefix.
uint32_t TokenTrie::build(const std::vector<std::string>& pieces, const std::vector<int32_t>& ids,
                          size_t lo, size_t hi, size_t depth) {
  const auto index = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();
  max_depth_ = std::max(max_depth_, depth);
  auto piece = [&](size_t i) -> const std::string& { return pieces[static_cast<size_t>(ids[i])]; };
  // Tokens ending here sort first.
  size_t i = lo;
  const auto first_token = static_cast<uint32_t>(tokens_.size());
  while (i < hi && piece(i).size() == depth) tokens_.push_back(ids[i++]);
  const auto n_tokens = static_cast<uint32_t>(tokens_.size()) - first_token;
  // Children: one per distinct next byte; their edges are contiguous, so reserve them first.
  std::vector<std::pair<size_t, size_t>> groups;
  while (i < hi) {
    size_t j = i + 1;
    while (j < hi && piece(j)[depth] == piece(i)[depth]) ++j;
    groups.emplace_back(i, j);
    i = j;
  }
  const auto first_edge = static_cast<uint32_t>(edge_bytes_.size());
  for (auto [a, b] : groups) {
    edge_bytes_.push_back(static_cast<uint8_t>(piece(a)[depth]));
    edge_children_.push_back(0);
  }
  for (size_t g = 0; g < groups.size(); ++g)
    edge_children_[first_edge + g] = build(pieces, ids, groups[g].first, groups[g].second, depth + 1);
  Node& n = nodes_[index];
  n.first_edge = first_edge;
  n.n_edges = static_cast<uint32_t>(groups.size());
  n.first_token = first_token;
  n.n_tokens = n_tokens;
  return index;
}

namespace {

std::vector<std::string> pieces_of(const Tokenizer& tok) {
  std::vector<std::string> pieces(static_cast<size_t>(tok.n_vocab()));
  for (int32_t id = 0; id < tok.n_vocab(); ++id)
    if (!tok.is_control(id)) pieces[static_cast<size_t>(id)] = tok.token_to_piece(id);
  return pieces;
}

std::vector<TokenByteIndex::Class> classes_of(const Tokenizer& tok,
                                              const std::vector<std::string>& pieces) {
  std::vector<TokenByteIndex::Class> classes(pieces.size(), TokenByteIndex::Class::Never);
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    auto& c = classes[static_cast<size_t>(id)];
    if (tok.is_eog(id)) {
      c = TokenByteIndex::Class::EndOfGeneration;
    } else if (!tok.is_control(id) && !pieces[static_cast<size_t>(id)].empty()) {
      c = TokenByteIndex::Class::Text;
    }
  }
  return classes;
}

std::vector<int32_t> eog_of(const std::vector<TokenByteIndex::Class>& classes) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == TokenByteIndex::Class::EndOfGeneration) ids.push_back(static_cast<int32_t>(i));
  return ids;
}

std::vector<uint8_t> string_safe_of(const std::vector<std::string>& pieces,
                                    const std::vector<TokenByteIndex::Class>& classes) {
  std::vector<uint8_t> safe(pieces.size(), 0);
  for (size_t i = 0; i < pieces.size(); ++i)
    safe[i] = classes[i] == TokenByteIndex::Class::Text && is_string_safe(pieces[i]);
  return safe;
}

}  // namespace

TokenByteIndex::TokenByteIndex(const Tokenizer& tokenizer)
    : pieces_(pieces_of(tokenizer)),
      classes_(classes_of(tokenizer, pieces_)),
      eog_(eog_of(classes_)),
      string_safe_(string_safe_of(pieces_, classes_)),
      all_(pieces_, ids_where(classes_, nullptr)),
      unsafe_(pieces_, ids_where(classes_, &string_safe_)) {}

std::vector<int32_t> TokenByteIndex::text_tokens_with_any_of(std::string_view bytes) const {
  std::vector<int32_t> out;
  for (size_t i = 0; i < pieces_.size(); ++i)
    if (classes_[i] == Class::Text && pieces_[i].find_first_of(bytes) != std::string::npos)
      out.push_back(static_cast<int32_t>(i));
  return out;
}

}  // namespace toolgate::engine::constrained
