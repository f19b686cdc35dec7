#pragma once
// Shared ownership of engines that a live reload may retire. A catalog (and so every in-flight
// request started from it) holds its engines through shared_ptrs; when a reload drops a model,
// its engine lives until the last request using it ends. That last release can happen on any
// thread, including the engine's own (a finish callback releasing the job that held the
// catalog), where the engine's destructor, which joins that thread, cannot run. So the
// shared_ptr's deleter only hands the engine to this reaper's thread, which shuts it down and
// destroys it.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/engine.h"

namespace toolgate::gateway {

class EngineReaper {
 public:
  EngineReaper();
  // Destroys what is queued, then stops. Every engine it adopted must have been released by
  // now (declare the reaper before anything that holds them).
  ~EngineReaper();
  EngineReaper(const EngineReaper&) = delete;
  EngineReaper& operator=(const EngineReaper&) = delete;

  // The engine, owned from now on by the returned pointer and its copies.
  std::shared_ptr<engine::Engine> adopt(std::unique_ptr<engine::Engine> engine);

  // Blocks until every engine released so far is destroyed (tests, logs).
  void drain();
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  void retire(engine::Engine* engine);
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<engine::Engine>> queue_;  // released, not yet destroyed
  int destroying_ = 0;                                 // taken off the queue, being destroyed
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace toolgate::gateway
