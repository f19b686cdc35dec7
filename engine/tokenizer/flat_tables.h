#pragma once
// Open-addressing hash tables for the tokenizer's two hot lookups: token text -> id over a
// vocabulary of up to a few hundred thousand strings, and (left, right) symbol pair -> merge.
// Node-based std::unordered_map spends most of tokenizer construction and a good part of
// encoding in cache misses; these keep every probe inside one flat array.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::engine {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = mix64(h ^ w);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  return mix64(h ^ tail ^ (static_cast<uint64_t>(s.size() - i) << 59));
}

inline size_t table_capacity(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;  // load factor <= 0.5
  return cap;
}

// Text -> id over strings owned by the caller (the vocabulary's texts, passed to every call so the
// index holds no pointer and survives moves/copies of its owner). Duplicates: the last id wins.
class TokenIndex {
 public:
  void build(const std::vector<std::string>& texts) {
    slots_.assign(table_capacity(texts.size()), Slot{-1, 0});
    mask_ = slots_.size() - 1;
    for (size_t i = 0; i < texts.size(); ++i) insert(texts, static_cast<int32_t>(i));
  }
  int32_t find(const std::vector<std::string>& texts, std::string_view key) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(key);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && texts[s.id] == key) return s.id;
    }
  }

 private:
  struct Slot {
    int32_t id;
    uint32_t tag;  // high hash bits: most mismatches are rejected without touching the text
  };
  void insert(const std::vector<std::string>& texts, int32_t id) {
    const std::string& key = texts[id];
    const uint64_t h = hash_bytes(key);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0 || (s.tag == tag && texts[s.id] == key)) {
        s = Slot{id, tag};
        return;
      }
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// (left symbol, right symbol) -> (rank, merged symbol); the first rule for a pair wins.
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  void reserve(size_t n) {
    slots_.assign(table_capacity(n), Slot{kEmpty, {0, 0}});
    mask_ = slots_.size() - 1;
  }
  void insert_if_absent(int32_t left, int32_t right, Merge m) {
    const uint64_t key = pack(left, right);
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return;
      if (s.key == kEmpty) {
        s = Slot{key, m};
        return;
      }
    }
  }
  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;
  static uint64_t pack(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }
  struct Slot {
    uint64_t key;
    Merge value;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace toolgate::engine
