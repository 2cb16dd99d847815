// Internal: per-stage counters readable from any thread, and the latency
// histogram sinks fill.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace coactor::actors::detail {

/// A log-linear histogram of nanosecond latencies (8 sub-buckets per power of
/// two: ~12% resolution). One writer (`record`, `merge`: the owning actor,
/// relaxed loads and stores, no read-modify-write); readers on any thread
/// (`export_to` while it runs, the rest after it ended) see each bucket
/// exactly, the buckets and the sum possibly a few records apart.
class latency_histogram {
 public:
  static constexpr size_t sub_buckets = 8;
  static constexpr size_t bucket_count = 64 * sub_buckets;

  void record(int64_t ns, uint64_t weight) noexcept;
  void merge(const latency_histogram& other) noexcept;
  [[nodiscard]] uint64_t count() const noexcept {
    return count_.load(std::memory_order_relaxed);
  }
  /// Returns the latency below which `q` (0..1) of the samples lie.
  [[nodiscard]] std::chrono::nanoseconds quantile(double q) const noexcept;

  /// Sets `counts[i]` to the samples in (bounds_ns[i-1], bounds_ns[i]] (the
  /// last entry: above every bound) and returns the sum in nanoseconds. A
  /// fine bucket counts where its upper end falls (~12% resolution).
  /// `counts` has one entry more than `bounds_ns`.
  uint64_t export_to(const std::vector<uint64_t>& bounds_ns,
                     std::vector<uint64_t>& counts) const;

 private:
  std::array<std::atomic<uint64_t>, bucket_count> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

/// Returns the steady clock in nanoseconds.
inline int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// What one stage actor reports while it runs. Counters are written by the
/// actor alone (relaxed stores, once per batch) and may be read from any
/// thread (the controller, `progress`, the metrics registry's collector).
struct stage_probe {
  std::string name;  // "buffer", "consumer[2]"
  std::string level; // the name without the copy index
  std::string kind;  // "producer", "buffer", "map", "consumer", ...
  uint64_t capacity = 0;
  std::atomic<uint64_t> in{0};
  std::atomic<uint64_t> out{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> buffered{0};
  std::atomic<uint64_t> high_water{0};
  /// At-least-once: items sent again to a replaced downstream, and repeats
  /// an idempotent sink dropped.
  std::atomic<uint64_t> redelivered{0};
  std::atomic<uint64_t> duplicates{0};
  /// Restarts of the stage's function after a failure (restart_policy).
  std::atomic<uint64_t> restarts{0};
  /// Filled by sinks only; read by the controller after the sink ended.
  latency_histogram latency;

  // Single writer (the stage actor): a plain load and store, no atomic
  // read-modify-write on the item path.
  static void bump(std::atomic<uint64_t>& x, uint64_t n) noexcept {
    x.store(x.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void add_in(uint64_t n) noexcept { bump(in, n); }
  void add_out(uint64_t n) noexcept { bump(out, n); }
  void add_dropped(uint64_t n) noexcept { bump(dropped, n); }
  void add_duplicates(uint64_t n) noexcept { bump(duplicates, n); }
  void add_restart() noexcept { bump(restarts, 1); }
  void set_redelivered(uint64_t n) noexcept {
    redelivered.store(n, std::memory_order_relaxed);
  }
  void set_buffered(uint64_t n) noexcept {
    buffered.store(n, std::memory_order_relaxed);
    if (n > high_water.load(std::memory_order_relaxed))
      high_water.store(n, std::memory_order_relaxed);
  }
};

using stage_probe_ptr = std::shared_ptr<stage_probe>;

/// Whether the items a stage of `kind` sends count as produced: producers,
/// and inlets (items from other nodes).
inline bool counts_as_produced(const std::string& kind) noexcept {
  return kind == "producer" || kind == "inlet";
}

/// Whether the items a stage of `kind` handled count as consumed: consumers,
/// and outlets (items sent to another node).
inline bool counts_as_consumed(const std::string& kind) noexcept {
  return kind == "consumer" || kind == "outlet";
}

} // namespace coactor::actors::detail
