#pragma once
// The vocabulary seen as byte strings, prepared once per tokenizer so a byte-level constraint
// can mask tokens quickly:
//  - each token's class: text (its raw bytes), end-of-generation, or never allowed inside a
//    constraint (other control tokens, and tokens that render as nothing);
//  - a byte trie over the text tokens, so one walk with the constraint state visits every
//    shared prefix once and drops a whole subtree at the first byte the state refuses;
//  - the "string-safe" class: tokens with no '"', '\\', control byte or broken UTF-8, which
//    any free-form JSON string accepts whole. Inside such a string the mask is this class plus
//    a walk of a second, much smaller trie holding only the other tokens.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine {
class Tokenizer;
}

namespace toolgate::engine::constrained {

class TokenTrie {
 public:
  struct Node {
    uint32_t first_edge = 0;
    uint32_t n_edges = 0;
    uint32_t first_token = 0;  // tokens whose bytes end at this node
    uint32_t n_tokens = 0;
  };

  // `ids` are the tokens to hold; pieces[id] their bytes (non-empty).
  TokenTrie(const std::vector<std::string>& pieces, std::vector<int32_t> ids);

  const Node& node(uint32_t i) const { return nodes_[i]; }
  uint8_t edge_byte(uint32_t e) const { return edge_bytes_[e]; }
  uint32_t edge_child(uint32_t e) const { return edge_children_[e]; }
  int32_t token(uint32_t i) const { return tokens_[i]; }
  size_t size() const { return nodes_.size(); }
  size_t max_depth() const { return max_depth_; }

 private:
  uint32_t build(const std::vector<std::string>& pieces, const std::vector<int32_t>& ids,
                 size_t lo, size_t hi, size_t depth);

  std::vector<Node> nodes_;  // [0] is the root
  std::vector<uint8_t> edge_bytes_;
  std::vector<uint32_t> edge_children_;
  std::vector<int32_t> tokens_;
  size_t max_depth_ = 0;
};

class TokenByteIndex {
 public:
  enum class Class : uint8_t { Text, EndOfGeneration, Never };

  explicit TokenByteIndex(const Tokenizer& tokenizer);

  int32_t n_vocab() const { return static_cast<int32_t>(classes_.size()); }
  Class token_class(int32_t id) const { return classes_[static_cast<size_t>(id)]; }
  std::string_view bytes(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
  const std::vector<int32_t>& end_of_generation() const { return eog_; }
  // 1 for string-safe text tokens (see above), 0 otherwise; n_vocab entries.
  const std::vector<uint8_t>& string_safe() const { return string_safe_; }
  const TokenTrie& all_text() const { return all_; }
  const TokenTrie& not_string_safe() const { return unsafe_; }
  // Text tokens containing any of `bytes` (what a lazy constraint must check in free text).
  std::vector<int32_t> text_tokens_with_any_of(std::string_view bytes) const;

 private:
  std::vector<std::string> pieces_;
  std::vector<Class> classes_;
  std::vector<int32_t> eog_;
  std::vector<uint8_t> string_safe_;
  TokenTrie all_;
  TokenTrie unsafe_;
};

// Exposed for tests: whether these bytes are string-safe (see above).
bool is_string_safe(std::string_view bytes);

}  // namespace toolgate::engine::constrained
