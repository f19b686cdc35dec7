#include "engine/constrained/json_recognizer.h"

#include <algorithm>

namespace toolgate::engine::constrained {

void JsonRecognizer::start(const SchemaNode* root) {
  threads_.resize(1);
  threads_[0].start(root);
}

JsonRecognizer::Result JsonRecognizer::feed(uint8_t c) {
  if (threads_.size() == 1) {
    // The common case: one path, no copies.
    JsonThread& t = threads_[0];
    switch (t.feed(c)) {
      case JsonThread::Result::Reject: return Result::Reject;
      case JsonThread::Result::Accept: return Result::Accept;
      case JsonThread::Result::Complete: return Result::Complete;
      case JsonThread::Result::Fork: break;
    }
  }
  // Several paths, or one that reached alternatives: expand forks, feed every path.
  next_.clear();
  std::vector<JsonThread>& work = work_;
  work.assign(threads_.begin(), threads_.end());
  bool complete = false;
  // Expansions are bounded: a union that (through $ref) lists itself would branch forever.
  int budget = 64 * static_cast<int>(kMaxThreads);
  while (!work.empty() && budget-- > 0) {
    JsonThread t = std::move(work.back());
    work.pop_back();
    JsonThread trial = t;
    switch (trial.feed(c)) {
      case JsonThread::Result::Reject: break;
      case JsonThread::Result::Accept:
        if (!complete) next_.push_back(trial);
        break;
      case JsonThread::Result::Complete:
        if (!complete) next_.clear();
        complete = true;
        next_.push_back(trial);
        break;
      case JsonThread::Result::Fork: {
        // `t` stands before the union's first byte; branch per alternative (in reverse so
        // the first alternative is tried first).
        const SchemaNode* u = trial.pending_union();
        for (size_t i = u->any_of.size(); i-- > 0;) {
          if (work.size() + next_.size() >= 4 * kMaxThreads) break;
          JsonThread alt = trial;
          alt.resolve(u->any_of[i]);
          work.push_back(alt);
        }
        break;
      }
    }
  }
  if (next_.empty()) return Result::Reject;
  // Merge paths that met in one state; keep at most kMaxThreads.
  threads_.clear();
  for (auto& t : next_) {
    if (threads_.size() >= kMaxThreads) break;
    if (std::find(threads_.begin(), threads_.end(), t) == threads_.end()) threads_.push_back(t);
  }
  return complete ? Result::Complete : Result::Accept;
}

bool JsonRecognizer::done() const {
  return std::any_of(threads_.begin(), threads_.end(), [](const JsonThread& t) { return t.done(); });
}

bool JsonRecognizer::can_end() const {
  return std::any_of(threads_.begin(), threads_.end(),
                     [](const JsonThread& t) { return t.can_end(); });
}

bool JsonRecognizer::in_plain_string() const {
  return std::any_of(threads_.begin(), threads_.end(),
                     [](const JsonThread& t) { return t.in_plain_string(); });
}

}  // namespace toolgate::engine::constrained
