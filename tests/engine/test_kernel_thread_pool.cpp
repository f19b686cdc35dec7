#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "engine/kernels/thread_pool.h"

namespace toolgate::engine {
namespace {

TEST(KernelThreadPool, ZeroMeansHardwareConcurrency) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
}

TEST(KernelThreadPool, RunsEveryTaskExactlyOnceWithValidThreadIds) {
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    for (int n_tasks : {0, 1, 2, 3, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n_tasks));
      std::atomic<bool> bad_thread{false};
      pool.run(n_tasks, [&](int task, int thread) {
        hits[static_cast<size_t>(task)].fetch_add(1);
        if (thread < 0 || thread >= threads) bad_thread = true;
      });
      for (int t = 0; t < n_tasks; ++t)
        ASSERT_EQ(hits[static_cast<size_t>(t)].load(), 1) << threads << " " << n_tasks;
      EXPECT_FALSE(bad_thread);
    }
  }
}

TEST(KernelThreadPool, ManyBackToBackRunsSeeEachOthersWrites) {
  ThreadPool pool(3);
  std::vector<int64_t> data(64, 0);
  for (int iter = 0; iter < 20000; ++iter) {
    // Each run reads what the previous run wrote: run() must be a full barrier.
    pool.run(64, [&](int task, int) { data[static_cast<size_t>(task)] += 1 + (iter > 0 ? 0 : 0); });
  }
  for (auto v : data) EXPECT_EQ(v, 20000);
}

TEST(KernelThreadPool, WakesWorkersThatFellAsleep) {
  ThreadPool pool(2);
  for (int iter = 0; iter < 5; ++iter) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past the spin window
    std::atomic<int> sum{0};
    pool.run(100, [&](int task, int) { sum += task; });
    EXPECT_EQ(sum.load(), 4950);
  }
}

TEST(KernelThreadPool, UsesWorkerThreadsForLongTasks) {
  ThreadPool pool(2);
  std::atomic<int> on_worker{0};
  pool.run(8, [&](int, int thread) {
    if (thread != 0) on_worker++;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  });
  EXPECT_GT(on_worker.load(), 0);
}

TEST(KernelThreadPool, DestroysCleanlyWhileWorkersSpinOrSleep) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(3);
    pool.run(4, [](int, int) {});
    if (i % 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace
}  // namespace toolgate::engine
