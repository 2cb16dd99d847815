// Test helper: counts coroutine frames through a local placed in each frame.
#pragma once

#include <atomic>
#include <cstddef>

namespace coactor::testing {

/// Put one `frame_counter` local in a test coroutine: its constructor runs
/// when the coroutine starts, its destructor when the frame is destroyed
/// (finished or abandoned). `live()` is then the number of frames alive.
class frame_counter {
 public:
  frame_counter() noexcept { created_.fetch_add(1, std::memory_order_relaxed); }
  frame_counter(const frame_counter&) = delete;
  frame_counter& operator=(const frame_counter&) = delete;
  ~frame_counter() { destroyed_.fetch_add(1, std::memory_order_relaxed); }

  static std::size_t created() noexcept { return created_.load(); }
  static std::size_t destroyed() noexcept { return destroyed_.load(); }
  static std::size_t live() noexcept { return created() - destroyed(); }
  static void reset() noexcept {
    created_ = 0;
    destroyed_ = 0;
  }

 private:
  static inline std::atomic<std::size_t> created_{0};
  static inline std::atomic<std::size_t> destroyed_{0};
};

} // namespace coactor::testing
