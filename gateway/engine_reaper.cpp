#include "gateway/engine_reaper.h"

#include <spdlog/spdlog.h>

namespace toolgate::gateway {

EngineReaper::EngineReaper() : thread_([this] { loop(); }) {}

EngineReaper::~EngineReaper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_ptr<engine::Engine> EngineReaper::adopt(std::unique_ptr<engine::Engine> engine) {
  return std::shared_ptr<engine::Engine>(engine.release(),
                                         [this](engine::Engine* e) { retire(e); });
}

void EngineReaper::retire(engine::Engine* engine) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(engine);
  }
  cv_.notify_all();
}

void EngineReaper::drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return queue_.empty() && destroying_ == 0; });
}

void EngineReaper::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    std::unique_ptr<engine::Engine> engine = std::move(queue_.front());
    queue_.pop_front();
    ++destroying_;
    lock.unlock();
    const std::string path = engine->model().path;
    engine->shutdown();  // its thread stops and joins here, off that thread
    engine.reset();
    spdlog::info("engine of {} stopped and freed", path);
    lock.lock();
    --destroying_;
    cv_.notify_all();
  }
}

}  // namespace toolgate::gateway
