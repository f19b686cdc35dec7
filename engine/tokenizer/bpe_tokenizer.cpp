#include "engine/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <climits>
#include <unordered_map>

#include "engine/tokenizer/unicode.h"

namespace toolgate::engine {

namespace {
struct Symbol {
  int32_t id;
  int32_t prev, next;
  bool alive;
};
struct Candidate {
  int32_t rank;
  int32_t left, right;        // symbol positions
  int32_t left_id, right_id;  // what they held when the candidate was made
};
}  // namespace

struct BpeTokenizer::Scratch {
  std::vector<Symbol> syms;
  std::vector<Candidate> heap;
};

BpeTokenizer::BpeTokenizer(Vocabulary vocab) : BpeTokenizer(std::move(vocab), PreTokenizer({})) {
  pre_ = PreTokenizer::for_name(vocab_.pre);
}

BpeTokenizer::BpeTokenizer(Vocabulary vocab, PreTokenizer pre)
    : VocabTokenizer(std::move(vocab)), pre_(std::move(pre)) {
  for (int b = 0; b < 256; ++b) {
    std::string s;
    unicode::append_utf8(unicode::byte_to_codepoint(static_cast<uint8_t>(b)), s);
    byte_symbol_[b] = symbol_id(s);
  }
  build_merges();
  cache_pieces();
}

int32_t BpeTokenizer::symbol_id(std::string_view text) {
  if (int32_t id = vocab_.find(text); id >= 0) return id;
  auto [it, inserted] = extra_ids_.try_emplace(
      std::string(text), vocab_.n_tokens() + static_cast<int32_t>(extra_symbols_.size()));
  if (inserted) extra_symbols_.emplace_back(text);
  return it->second;
}

const std::string& BpeTokenizer::symbol_text(int32_t sym) const {
  return sym < vocab_.n_tokens() ? vocab_.texts[sym] : extra_symbols_[sym - vocab_.n_tokens()];
}

void BpeTokenizer::build_merges() {
  merges_.reserve(vocab_.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
    const std::string_view rule = vocab_.merges[rank];
    // Split at the first space after the first character (a rule's left side may be " ").
    const size_t sp = rule.find(' ', 1);
    const std::string_view left = sp == std::string_view::npos ? "" : rule.substr(0, sp);
    const std::string_view right = sp == std::string_view::npos ? "" : rule.substr(sp + 1);
    joined.assign(left);
    joined.append(right);
    const int32_t l = symbol_id(left);
    const int32_t r = symbol_id(right);
    const int32_t m = symbol_id(joined);
    merges_.insert_if_absent(l, r, {static_cast<int32_t>(rank), m});  // first rule wins
  }
  // The rules live on as the table; keep the vocabulary lean.
  std::vector<std::string>().swap(vocab_.merges);
}

void BpeTokenizer::encode_text(std::string_view text, bool /*after_special*/,
                               std::vector<int32_t>& out) const {
  std::vector<uint32_t> cpts;
  cpts.reserve(text.size());
  const bool clean = unicode::decode_utf8(text, cpts);
  std::vector<uint16_t> fl(cpts.size());
  for (size_t i = 0; i < cpts.size(); ++i) fl[i] = unicode::flags(cpts[i]);
  std::vector<uint32_t> lengths;
  pre_.split(cpts, fl, lengths);

  std::string word;       // raw bytes of the word
  std::string encoded;    // its byte-level (GPT-2 unicode) spelling, for whole-word lookups
  Scratch scratch;
  // Prompts repeat words ("the", " of", indentation): each distinct word is merged once per call.
  // Keys view `text`, so only words sliced from it (valid UTF-8 input) are cached.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  std::vector<int32_t> cached_ids;
  size_t cpt_pos = 0, byte_pos = 0;
  for (uint32_t len : lengths) {
    std::string_view bytes;
    if (clean) {
      // Valid UTF-8: the word is a slice of the input.
      size_t nbytes = 0;
      for (size_t i = cpt_pos; i < cpt_pos + len; ++i) {
        const uint32_t c = cpts[i];
        nbytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      }
      bytes = text.substr(byte_pos, nbytes);
      byte_pos += nbytes;
    } else {
      // Malformed bytes were decoded to U+FFFD; the reference tokenizes that re-encoding.
      word.clear();
      for (size_t i = cpt_pos; i < cpt_pos + len; ++i) unicode::append_utf8(cpts[i], word);
      bytes = word;
    }
    cpt_pos += len;

    if (vocab_.ignore_merges) {
      encoded.clear();
      for (unsigned char b : bytes) unicode::append_utf8(unicode::byte_to_codepoint(b), encoded);
      if (int32_t id = vocab_.find(encoded); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    if (!clean || bytes.size() == 1) {
      merge_word(bytes, scratch, out);
      continue;
    }
    auto [it, inserted] = cache.try_emplace(bytes, 0, 0);
    if (inserted) {
      const size_t first = cached_ids.size();
      merge_word(bytes, scratch, cached_ids);
      it->second = {static_cast<uint32_t>(first), static_cast<uint32_t>(cached_ids.size() - first)};
    }
    out.insert(out.end(), cached_ids.begin() + it->second.first,
               cached_ids.begin() + it->second.first + it->second.second);
  }
}

void BpeTokenizer::merge_word(std::string_view bytes, Scratch& scratch,
                              std::vector<int32_t>& out) const {
  // Lowest rank first; among equal ranks the leftmost pair (llama.cpp's order).
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };

  const int32_t n = static_cast<int32_t>(bytes.size());
  if (n == 1) {
    const int32_t id = byte_symbol_[static_cast<uint8_t>(bytes[0])];
    if (id < vocab_.n_tokens()) {
      out.push_back(id);
      return;
    }
  }
  if (n <= kShortWord) {
    merge_short_word(bytes, out);
    return;
  }
  std::vector<Symbol>& syms = scratch.syms;
  syms.resize(n);
  for (int32_t i = 0; i < n; ++i) {
    syms[i] = {byte_symbol_[static_cast<uint8_t>(bytes[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  std::vector<Candidate>& heap = scratch.heap;
  heap.clear();
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const MergeTable::Merge* m = merges_.find(syms[left].id, syms[right].id);
    if (!m) return;
    heap.push_back({m->rank, left, right, syms[left].id, syms[right].id});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& l = syms[c.left];
    Symbol& r = syms[c.right];
    // Stale: one side was merged away or has grown since the candidate was made.
    if (!l.alive || !r.alive || l.id != c.left_id || r.id != c.right_id) continue;
    l.id = merges_.find(c.left_id, c.right_id)->result;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) emit_symbol(syms[i].id, out);
}

void BpeTokenizer::emit_symbol(int32_t id, std::vector<int32_t>& out) const {
  if (id < vocab_.n_tokens()) {
    out.push_back(id);
    return;
  }
  // A merge produced a string the vocabulary lacks: llama.cpp falls back to looking up each
  // byte of its byte-level spelling as a one-byte token, dropping the ones that are not.
  for (char b : symbol_text(id)) {
    if (int32_t t = vocab_.find(std::string_view(&b, 1)); t >= 0) out.push_back(t);
  }
}

// Same merge order as the heap (lowest rank, then leftmost pair), found by scanning the pairs:
// for the short words that make up almost all text this beats heap bookkeeping.
void BpeTokenizer::merge_short_word(std::string_view bytes, std::vector<int32_t>& out) const {
  constexpr int32_t kNone = INT32_MAX;
  int32_t ids[kShortWord];
  int32_t ranks[kShortWord];   // ranks[i]: rank of merging ids[i] with ids[i + 1]
  int32_t results[kShortWord];
  int32_t n = static_cast<int32_t>(bytes.size());
  for (int32_t i = 0; i < n; ++i) ids[i] = byte_symbol_[static_cast<uint8_t>(bytes[i])];
  auto rate = [&](int32_t i) {
    const MergeTable::Merge* m = merges_.find(ids[i], ids[i + 1]);
    ranks[i] = m ? m->rank : kNone;
    results[i] = m ? m->result : -1;
  };
  for (int32_t i = 0; i + 1 < n; ++i) rate(i);
  while (n > 1) {
    int32_t best = -1;
    int32_t best_rank = kNone;
    for (int32_t i = 0; i + 1 < n; ++i) {
      if (ranks[i] < best_rank) {
        best_rank = ranks[i];
        best = i;
      }
    }
    if (best < 0) break;
    ids[best] = results[best];
    for (int32_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      results[i] = results[i + 1];
    }
    --n;
    if (best > 0) rate(best - 1);
    if (best + 1 < n) rate(best);
  }
  for (int32_t i = 0; i < n; ++i) emit_symbol(ids[i], out);
}

std::string BpeTokenizer::normal_piece(int32_t id) const {
  const std::string& text = vocab_.texts[id];
  if (vocab_.attrs[id] & kAttrByte) {
    // "<0xNN>" byte tokens exist in a few BPE vocabularies.
    if (text.size() == 6 && text.compare(0, 3, "<0x") == 0) {
      return std::string(1, static_cast<char>(std::stoi(text.substr(3, 2), nullptr, 16)));
    }
  }
  std::vector<uint32_t> cpts;
  unicode::decode_utf8(text, cpts);
  std::string out;
  out.reserve(cpts.size());
  for (uint32_t c : cpts) {
    const int b = unicode::codepoint_to_byte(c);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      unicode::append_utf8(c, out);  // not a byte-level character: keep it as text
    }
  }
  return out;
}

}  // namespace toolgate::engine
