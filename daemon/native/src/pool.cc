// The worker pool behind parallelFor (common.h).
//
// Chunks are claimed through one 64-bit counter holding (generation, next chunk): a worker that
// wakes late for an old job cannot claim a chunk of a newer one, because its compare-and-swap
// carries the old generation. The caller returns once every chunk is done, so a chunk's context is
// never used after its call returned.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <atomic>

#include "common.h"

namespace vk {
namespace {

class Pool {
 public:
  explicit Pool(size_t workers) {
    for (size_t i = 0; i < workers; i++) {
      try {
        std::thread([this] { loop(); }).detach();  // lives as long as the process
        started_++;
      } catch (...) {
        break;  // fewer workers than asked: the caller does more of the work
      }
    }
  }

  size_t workers() const { return started_; }

  bool tryRun(size_t chunks, void (*call)(void*, size_t), void* ctx) {
    std::unique_lock<std::mutex> busy(submit_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lk(m_);
      gen = ++gen_;
      call_ = call;
      ctx_ = ctx;
      chunks_.store(chunks, std::memory_order_relaxed);
      done_.store(0, std::memory_order_relaxed);
      next_.store(uint64_t(gen) << 32, std::memory_order_release);
    }
    cv_.notify_all();
    work(gen);
    while (done_.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
    return true;
  }

 private:
  // Claims and runs chunks of job `gen` until none are left.
  void work(uint32_t gen) {
    for (;;) {
      uint64_t v = next_.load(std::memory_order_acquire);
      size_t c;
      do {
        if (uint32_t(v >> 32) != gen) return;
        c = size_t(uint32_t(v));
        if (c >= chunks_.load(std::memory_order_relaxed)) return;
      } while (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel));
      call_(ctx_, c);
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  void loop() {
    uint32_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return gen_ != seen; });
        seen = gen_;
      }
      work(seen);
    }
  }

  std::mutex submit_;  // one job at a time
  std::mutex m_;
  std::condition_variable cv_;
  uint32_t gen_ = 0;
  void (*call_)(void*, size_t) = nullptr;
  void* ctx_ = nullptr;
  std::atomic<size_t> chunks_{0};  // read by late workers racing a new job; the CAS sorts them out
  std::atomic<uint64_t> next_{0};
  std::atomic<size_t> done_{0};
  size_t started_ = 0;
};

}  // namespace

void runChunks(size_t chunks, void (*call)(void*, size_t), void* ctx, size_t workers) {
  // Never destroyed: detached workers may still be parked on it while the process exits.
  static Pool* pool = new Pool(hardwareThreads() > 1 ? hardwareThreads() - 1 : 0);
  if (workers == 0 || pool->workers() == 0 || !pool->tryRun(chunks, call, ctx))
    for (size_t c = 0; c < chunks; c++) call(ctx, c);
}

}  // namespace vk
