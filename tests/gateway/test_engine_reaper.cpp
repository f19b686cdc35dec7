#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "fakes.h"
#include "gateway/engine_reaper.h"

namespace toolgate::gateway {
namespace {

using testing::FakeEngine;

// A fake engine that tells on which thread it was destroyed.
class WatchedEngine : public FakeEngine {
 public:
  explicit WatchedEngine(std::promise<std::thread::id>* destroyed)
      : FakeEngine(FakeEngine::Options{}), destroyed_(destroyed) {}
  ~WatchedEngine() override { destroyed_->set_value(std::this_thread::get_id()); }

 private:
  std::promise<std::thread::id>* destroyed_;
};

TEST(EngineReaper, EngineLastReleasedOnItsOwnThreadIsDestroyedOnTheReapersThread) {
  EngineReaper reaper;
  std::promise<std::thread::id> destroyed;
  std::shared_ptr<engine::Engine> engine =
      reaper.adopt(std::make_unique<WatchedEngine>(&destroyed));

  // As a job holding the catalog: its finish callback, on the engine's thread, drops the last
  // owner. Destroying the engine there would join that thread from itself.
  auto job = std::make_shared<std::shared_ptr<engine::Engine>>(engine);
  std::promise<void> test_released;
  std::shared_future<void> released = test_released.get_future().share();
  std::promise<std::thread::id> engine_thread;
  engine::GenerationRequest r;
  r.prompt = {'H', 'i'};
  r.on_token = [&engine_thread, released, first = true](engine::TokenEvent&&) mutable {
    if (!first) return;
    first = false;
    engine_thread.set_value(std::this_thread::get_id());
    released.wait();  // the test's own reference is gone before the sequence finishes
  };
  r.on_finish = [job](engine::FinishEvent&&) { job->reset(); };
  engine->submit(std::move(r));
  engine.reset();
  test_released.set_value();

  const std::thread::id on = destroyed.get_future().get();
  EXPECT_EQ(on, reaper.thread_id());
  EXPECT_NE(on, engine_thread.get_future().get());
}

TEST(EngineReaper, EngineLivesWhileAnyOwnerRemains) {
  EngineReaper reaper;
  std::promise<std::thread::id> destroyed;
  auto future = destroyed.get_future();
  std::shared_ptr<engine::Engine> old_catalog =
      reaper.adopt(std::make_unique<WatchedEngine>(&destroyed));
  std::shared_ptr<engine::Engine> in_flight = old_catalog;
  old_catalog.reset();  // a reload dropped the model
  reaper.drain();
  EXPECT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  in_flight.reset();  // its last request ended
  reaper.drain();
  EXPECT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
}

}  // namespace
}  // namespace toolgate::gateway
