#pragma once
// An incremental recognizer for one JSON value that follows a compiled schema (json_schema.h),
// fed one byte at a time. It accepts exactly the byte strings that are prefixes of a
// schema-valid JSON text and never accepts a prefix that cannot be finished.
//
// Each deterministic path is a JsonThread (json_thread.h, where the byte-level rules live).
// Where the schema offers alternatives (anyOf / oneOf) the recognizer follows one thread per
// alternative from the value's first byte; a thread that refuses a byte is dropped, threads that
// meet in the same state are merged. At most kMaxThreads live at once (further alternatives
// are not followed: the output stays valid, the choice narrower). Schemas without alternatives
// keep a single thread, so a copy is one small frame array.
#include <cstdint>
#include <vector>

#include "engine/constrained/json_schema.h"
#include "engine/constrained/json_thread.h"

namespace toolgate::engine::constrained {

class JsonRecognizer {
 public:
  static constexpr int kMaxDepth = JsonThread::kMaxDepth;
  static constexpr int kMaxWhitespace = JsonThread::kMaxWhitespace;
  static constexpr uint32_t kMaxNumberChars = JsonThread::kMaxNumberChars;
  static constexpr size_t kMaxThreads = 16;

  enum class Result : uint8_t { Reject, Accept, Complete };  // Complete: the root value closed

  JsonRecognizer() = default;
  JsonRecognizer(const JsonRecognizer& other) : threads_(other.threads_) {}
  JsonRecognizer& operator=(const JsonRecognizer& other) {
    // Assignment reuses this object's storage: copies in a trie walk do not allocate.
    if (this != &other) threads_.assign(other.threads_.begin(), other.threads_.end());
    return *this;
  }

  // Starts a value of `root`; leading whitespace is the caller's. A root of several types
  // (anyOf) is fine; a root number or literal ends where the text ends (can_end()).
  void start(const SchemaNode* root);
  // After Reject the state is unspecified: try bytes on a copy.
  Result feed(uint8_t c);
  bool done() const;
  // May the text end here (the root value is complete)?
  bool can_end() const;
  // Some thread is inside a string of unbounded length: every string-safe byte string is
  // accepted from here (see JsonThread::in_plain_string()).
  bool in_plain_string() const;

 private:
  std::vector<JsonThread> threads_;
  // Scratch for feed(), not copied.
  std::vector<JsonThread> next_;
  std::vector<JsonThread> work_;
};

}  // namespace toolgate::engine::constrained
