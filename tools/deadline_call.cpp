#include "tools/deadline_call.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

namespace toolgate::tools {
namespace {

CallOutcome run_guarded(const std::function<nlohmann::json()>& fn) {
  CallOutcome out;
  try {
    out.value = fn();
    out.status = CallOutcome::Status::kOk;
  } catch (const std::exception& e) {
    out.error = e.what();
  } catch (...) {
    out.error = "unknown exception";
  }
  return out;
}

// The rendezvous between the caller and its worker; owned jointly by both.
struct Rendezvous {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool abandoned = false;
  CallOutcome outcome;
};

}  // namespace

CallOutcome call_with_deadline(std::function<nlohmann::json()> fn,
                               std::chrono::milliseconds timeout, AbandonedCallLimit& limit) {
  if (timeout.count() <= 0) return run_guarded(fn);

  if (limit.current() >= limit.max()) {
    CallOutcome out;
    out.status = CallOutcome::Status::kRejected;
    out.error = std::to_string(limit.current()) +
                " earlier tool calls are still running past their deadline; try again later";
    return out;
  }

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto state = std::make_shared<Rendezvous>();
  std::thread worker;
  try {
    worker = std::thread([state, counter = limit.counter(), fn = std::move(fn)] {
      CallOutcome out = run_guarded(fn);
      std::lock_guard lock(state->mu);
      state->outcome = std::move(out);
      state->done = true;
      if (state->abandoned) {
        counter->fetch_sub(1);
      } else {
        state->cv.notify_one();
      }
    });
  } catch (const std::system_error& e) {
    CallOutcome out;
    out.error = std::string("could not start a worker thread: ") + e.what();
    return out;
  }

  std::unique_lock lock(state->mu);
  if (state->cv.wait_until(lock, deadline, [&] { return state->done; })) {
    CallOutcome out = std::move(state->outcome);
    lock.unlock();
    worker.join();  // the worker only has to return from its lambda now
    return out;
  }
  // Mark and count under the lock so the worker's decrement cannot precede our increment.
  state->abandoned = true;
  limit.counter()->fetch_add(1);
  lock.unlock();
  worker.detach();
  CallOutcome out;
  out.status = CallOutcome::Status::kTimedOut;
  out.error = "timed out after " + std::to_string(timeout.count()) + " ms";
  return out;
}

}  // namespace toolgate::tools
