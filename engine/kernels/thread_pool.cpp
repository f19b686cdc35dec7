#include "engine/kernels/thread_pool.h"

#include <chrono>
#include <exception>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TOOLGATE_CPU_RELAX() _mm_pause()
#else
#define TOOLGATE_CPU_RELAX() ((void)0)
#endif

namespace toolgate::engine {
namespace {

constexpr uint64_t kClosed = 0xFFFFFFFFull;  // task index meaning "no job open"
// How long a worker keeps spinning for the next job before sleeping. A decode step issues a
// job every few microseconds, so this keeps workers hot through a whole forward pass while
// costing at most this much CPU once the engine goes idle.
constexpr auto kSpinFor = std::chrono::microseconds(300);

uint32_t gen_of(uint64_t v) { return static_cast<uint32_t>(v >> 32); }
uint32_t index_of(uint64_t v) { return static_cast<uint32_t>(v); }

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  n_threads_ = n_threads > 0 ? n_threads : 1;
  claim_.store(kClosed, std::memory_order_relaxed);
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_main(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::work_on(uint32_t gen, int thread) {
  int done = 0;
  for (;;) {
    uint64_t v = claim_.load(std::memory_order_acquire);
    if (gen_of(v) != gen) break;
    // Read the job after seeing its generation; if run() has moved on meanwhile the CAS below
    // fails (the claim word was closed before the job fields changed), so a stale read is
    // never acted on.
    const int n_tasks = job_tasks_.load(std::memory_order_relaxed);
    void* ctx = job_ctx_.load(std::memory_order_relaxed);
    auto* call = job_call_.load(std::memory_order_relaxed);
    if (index_of(v) >= static_cast<uint32_t>(n_tasks)) break;
    if (!claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
    call(ctx, static_cast<int>(index_of(v)), thread);
    ++done;
  }
  return done;
}

void ThreadPool::worker_main(int thread) {
  // Start from the generation at construction (0), not from whatever generation_ holds when
  // this thread gets scheduled: a late start must still see the first job and the stop.
  uint32_t seen = 0;
  for (;;) {
    // Spin, then sleep, until a new generation is published.
    uint32_t g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      const auto deadline = std::chrono::steady_clock::now() + kSpinFor;
      for (int i = 0; g == seen; ++i) {
        TOOLGATE_CPU_RELAX();
        g = generation_.load(std::memory_order_acquire);
        if ((i & 63) == 63 && g == seen && std::chrono::steady_clock::now() > deadline) {
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          // run() bumps generation_ then reads sleepers_ (both seq_cst): either it sees us
          // and notifies, or we see its new generation here and do not sleep.
          generation_.wait(seen, std::memory_order_seq_cst);
          sleepers_.fetch_sub(1, std::memory_order_relaxed);
          g = generation_.load(std::memory_order_acquire);
        }
      }
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    const int done = work_on(g, thread);
    if (done > 0) pending_.fetch_sub(done, std::memory_order_acq_rel);
  }
}

void ThreadPool::run_impl(int n_tasks, TaskRef fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; ++t) fn.call(fn.ctx, t, 0);
    return;
  }
  const uint32_t gen = ++last_gen_;
  // The claim word is closed (kClosed index) since the previous run(), so no worker can
  // claim anything while the job fields change.
  job_ctx_.store(fn.ctx, std::memory_order_relaxed);
  job_call_.store(fn.call, std::memory_order_relaxed);
  job_tasks_.store(n_tasks, std::memory_order_relaxed);
  pending_.store(n_tasks, std::memory_order_relaxed);
  claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
  generation_.store(gen, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();

  const int done = work_on(gen, 0);
  int left = pending_.fetch_sub(done, std::memory_order_acq_rel) - done;
  for (int i = 0; left > 0; ++i) {
    TOOLGATE_CPU_RELAX();
    if ((i & 1023) == 1023) std::this_thread::yield();  // a worker may be descheduled
    left = pending_.load(std::memory_order_acquire);
  }
  // Close the job. An RMW, so it orders after every successful claim (all of which read the
  // job fields before claiming) and before the next run() rewrites those fields.
  claim_.exchange((static_cast<uint64_t>(gen) << 32) | kClosed, std::memory_order_acq_rel);
}

}  // namespace toolgate::engine
