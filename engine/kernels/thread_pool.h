#pragma once
// Fork-join pool for the compute kernels. A forward pass calls run() a few hundred times per
// token, so a call costs no allocation and no syscall while workers are awake: workers spin on
// a generation counter for a short while after each job, then sleep (futex via atomic::wait).
// The calling thread takes tasks too; run() returns once every task has finished.
#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace toolgate::engine {

class ThreadPool {
 public:
  // n_threads counts the caller; 0 = std::thread::hardware_concurrency().
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(task, thread) for every task in [0, n_tasks), spread over the pool's threads;
  // thread is in [0, size()) (0 = caller) so fn can index per-thread scratch. Tasks are handed
  // out dynamically, in increasing order. fn must not throw. Not reentrant: one run() at a time.
  template <class Fn>
  void run(int n_tasks, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run_impl(n_tasks, TaskRef{const_cast<void*>(static_cast<const void*>(&fn)),
                              [](void* ctx, int task, int thread) {
                                (*static_cast<F*>(ctx))(task, thread);
                              }});
  }

 private:
  // A non-owning callable reference (function_ref): two words, no allocation.
  struct TaskRef {
    void* ctx;
    void (*call)(void* ctx, int task, int thread);
  };

  void run_impl(int n_tasks, TaskRef fn);
  void worker_main(int thread);
  // Claims and runs tasks of job `gen` until none is left; returns how many it ran.
  int work_on(uint32_t gen, int thread);

  int n_threads_;
  std::vector<std::thread> workers_;

  // Job description, written by run() only while the claim word is closed (see run_impl).
  std::atomic<void*> job_ctx_{nullptr};
  std::atomic<void (*)(void*, int, int)> job_call_{nullptr};
  std::atomic<int> job_tasks_{0};

  // (generation << 32) | next task index. A claim is a CAS that keeps the generation, so a
  // worker still looking at an old job can never take a task of the next one.
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int> pending_{0};          // tasks of the current job not yet finished
  alignas(64) std::atomic<uint32_t> generation_{0};  // what workers spin / sleep on
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  uint32_t last_gen_ = 0;
};

}  // namespace toolgate::engine
