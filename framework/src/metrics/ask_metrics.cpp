// The node's ask figures: counted where asks end (ask.hpp, ask_batch.hpp)
// into per-thread shards, summed into the registry by a collector at each
// exposition. No lock on the ask path: two or three atomic adds on a cache
// line that only the calling thread uses (unless more threads than shards).
#include "coactor/detail/ask_stats.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../node_context.hpp"
#include "coactor/error.hpp"
#include "coactor/metrics.hpp"
#include "endpoint.hpp"

namespace coactor::detail {

namespace {

// Upper bounds of the latency buckets, in seconds (and nanoseconds below).
constexpr std::array<double, 13> bounds_s{
    1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1, 5, 10};

constexpr auto bounds_ns = [] {
  std::array<int64_t, bounds_s.size()> out{};
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<int64_t>(bounds_s[i] * 1e9 + 0.5);
  return out;
}();

// Error slots: coactor's codes by value, slot 0 for every other category.
constexpr std::size_t error_slots
    = static_cast<std::size_t>(errc::restart_limit) + 1;

std::size_t error_slot(const caf::error& err) noexcept {
  if (err.category() != error_category || err.code() >= error_slots)
    return 0;
  return err.code();
}

std::string error_label(std::size_t slot) {
  return slot == 0 ? "other" : std::string{to_string(static_cast<errc>(slot))};
}

constexpr std::size_t shard_count = 16;

std::size_t my_shard() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local std::size_t index
      = next.fetch_add(1, std::memory_order_relaxed) % shard_count;
  return index;
}

uint64_t load(const std::atomic<uint64_t>& x) noexcept {
  return x.load(std::memory_order_relaxed);
}

void bump(std::atomic<uint64_t>& x, uint64_t n = 1) noexcept {
  x.fetch_add(n, std::memory_order_relaxed);
}

} // namespace

struct ask_stats {
  struct alignas(64) shard {
    std::atomic<uint64_t> buckets[bounds_s.size() + 1] = {};
    std::atomic<uint64_t> sum_ns{0};
    std::atomic<uint64_t> errors[error_slots] = {};
  };
  std::array<shard, shard_count> shards;
};

ask_stats* ask_stats_of(caf::actor_system& sys) noexcept {
  auto* ctx = node_context_of(sys);
  return ctx != nullptr ? ctx->asks.load(std::memory_order_acquire) : nullptr;
}

void record_ask(ask_stats& stats, caf::timespan elapsed,
                const caf::error* err) noexcept {
  auto& s = stats.shards[my_shard()];
  auto ns = std::max<int64_t>(elapsed.count(), 0);
  auto b = static_cast<std::size_t>(
      std::lower_bound(bounds_ns.begin(), bounds_ns.end(), ns)
      - bounds_ns.begin());
  bump(s.buckets[b]);
  bump(s.sum_ns, static_cast<uint64_t>(ns));
  if (err != nullptr)
    bump(s.errors[error_slot(*err)]);
}

namespace {

// Adds what the shards counted since its last run to the registry's series;
// run by the registry's collector (one run at a time).
struct ask_publisher {
  ask_stats* stats;
  metrics::counter* total;
  metrics::histogram* latency;
  metrics::counter_family* errors;
  std::array<metrics::counter*, error_slots> error_series{};
  std::vector<uint64_t> seen_buckets
      = std::vector<uint64_t>(bounds_s.size() + 1);
  std::array<uint64_t, error_slots> seen_errors{};
  uint64_t seen_sum_ns = 0;

  void operator()() {
    std::vector<uint64_t> buckets(seen_buckets.size());
    std::array<uint64_t, error_slots> errs{};
    uint64_t sum_ns = 0;
    for (auto& s : stats->shards) {
      for (std::size_t i = 0; i < buckets.size(); ++i)
        buckets[i] += load(s.buckets[i]);
      sum_ns += load(s.sum_ns);
      for (std::size_t i = 0; i < errs.size(); ++i)
        errs[i] += load(s.errors[i]);
    }
    uint64_t n = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      buckets[i] -= std::exchange(seen_buckets[i], buckets[i]);
      n += buckets[i];
    }
    total->add_owned(n);
    latency->merge_owned(buckets,
                         static_cast<double>(sum_ns - seen_sum_ns) * 1e-9);
    seen_sum_ns = sum_ns;
    for (std::size_t i = 0; i < errs.size(); ++i) {
      if (errs[i] == seen_errors[i])
        continue;
      if (error_series[i] == nullptr)
        error_series[i] = *errors->get({error_label(i)}); // one label
      error_series[i]->add_owned(errs[i] - seen_errors[i]);
      seen_errors[i] = errs[i];
    }
  }
};

} // namespace

} // namespace coactor::detail

namespace coactor::metrics::detail {

using coactor::detail::ask_stats;

ask_metrics::ask_metrics(registry& reg, coactor::detail::node_context& ctx)
    : ctx_(ctx), stats_(std::make_unique<ask_stats>()) {
  auto total = reg.add_counter("coactor_asks_total",
                               "Asks (co_await ask, and asks in when_all / "
                               "when_any) that ended, failed or not.");
  auto errors = reg.add_counter("coactor_ask_errors_total",
                                "Asks that ended with an error, by coactor "
                                "error code ('other' for other categories).",
                                {"error"});
  auto latency = reg.add_histogram(
      "coactor_ask_duration_seconds",
      "Time from sending an ask to its reply, error or timeout.", {},
      std::vector<double>(coactor::detail::bounds_s.begin(),
                          coactor::detail::bounds_s.end()));
  // The names are valid: these cannot fail.
  collector_ = reg.add_collector(coactor::detail::ask_publisher{
      stats_.get(), *(*total)->get({}), *(*latency)->get({}), *errors});
  ctx_.asks.store(stats_.get(), std::memory_order_release);
}

ask_metrics::~ask_metrics() {
  ctx_.asks.store(nullptr, std::memory_order_release);
}

} // namespace coactor::metrics::detail
