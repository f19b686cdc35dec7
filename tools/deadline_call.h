#pragma once
// Runs a function on its own thread and stops waiting for it at a deadline.
//
// C++ cannot safely kill a thread, so a call that overruns is *abandoned*, not stopped: its
// thread is detached and finishes on its own; the caller gets a timeout straight away and
// the late result is dropped. Everything the worker touches is owned by the worker (the
// function object, its captures, the shared outcome slot), so nothing dangles once the caller
// has returned. A call that never returns would leak one thread, hence AbandonedCallLimit:
// once `max_abandoned` calls are still running past their deadline, new calls are refused
// instead of piling up threads.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace toolgate::tools {

class AbandonedCallLimit {
 public:
  explicit AbandonedCallLimit(int max_abandoned)
      : max_(max_abandoned), count_(std::make_shared<std::atomic<int>>(0)) {}
  int max() const { return max_; }
  int current() const { return count_->load(); }
  // Shared with detached workers, which decrement it when they finally finish.
  std::shared_ptr<std::atomic<int>> counter() const { return count_; }

 private:
  int max_;
  std::shared_ptr<std::atomic<int>> count_;
};

struct CallOutcome {
  enum class Status { kOk, kFailed, kTimedOut, kRejected };
  Status status = Status::kFailed;
  nlohmann::json value;  // kOk
  std::string error;     // every other status
};

// Calls `fn` with a deadline `timeout` from now. Exceptions thrown by `fn` become kFailed.
// timeout <= 0 means no deadline: `fn` runs on the calling thread.
CallOutcome call_with_deadline(std::function<nlohmann::json()> fn,
                               std::chrono::milliseconds timeout, AbandonedCallLimit& limit);

}  // namespace toolgate::tools
