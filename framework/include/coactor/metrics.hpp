// coactor::metrics: a per-node registry of counters, gauges and histograms
// with labels, cheap to update on hot paths, exposed in the Prometheus text
// format.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "coactor/error.hpp"

namespace coactor {

class node;

namespace metrics {

/// What a family measures, as the Prometheus `TYPE` line says it.
enum class metric_type : uint8_t {
  /// Only goes up (restarts at zero with a new node).
  counter,
  /// Goes up and down.
  gauge,
  /// Counts observations into buckets with upper bounds, plus their sum.
  histogram,
};

// -- series -------------------------------------------------------------------

/// One series of a counter family: a monotonic 64-bit count.
///
/// Threading: `inc` may be called from any thread at once (one atomic
/// add). `add_owned` and `publish` are for a single writer (one actor, or
/// one thread, at a time) and cost a plain load and store: no lock, no
/// atomic read-modify-write; mixing them with concurrent `inc` calls on the
/// same series loses counts. `value` may be read from any thread.
class counter {
 public:
  /// Adds `n`; any thread.
  void inc(uint64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }

  /// Adds `n`; single writer only (see the class).
  void add_owned(uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n,
                 std::memory_order_relaxed);
  }

  /// Returns the count.
  [[nodiscard]] uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> value_{0};
};

/// One series of a gauge family: a double that goes up and down.
///
/// Threading: every member may be called from any thread; `add` is an
/// atomic compare-and-swap loop, `set` a plain store.
class gauge {
 public:
  /// Sets the value.
  void set(double x) noexcept { value_.store(x, std::memory_order_relaxed); }

  /// Adds `x` (negative to subtract).
  void add(double x) noexcept {
    value_.fetch_add(x, std::memory_order_relaxed);
  }

  /// Returns the value.
  [[nodiscard]] double value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<double> value_{0};
};

/// One series of a histogram family: counts of observations per bucket
/// (upper bounds fixed by the family, plus +Inf) and their sum.
///
/// Threading: `observe` may be called from any thread at once (two atomic
/// adds and a compare-and-swap loop); `observe_owned` is for a single writer
/// (plain loads and stores, as `counter::add_owned`). A reader running
/// concurrently may see a sum one observation ahead of or behind the counts.
class histogram {
 public:
  /// @private
  explicit histogram(const std::vector<double>& bounds);

  /// Records `x`; any thread.
  void observe(double x) noexcept;

  /// Records `x`; single writer only (see the class).
  void observe_owned(double x) noexcept;

  /// Adds `counts` (observations per bucket, as `bucket_counts` returns
  /// them; extra entries are ignored) and their `sum`: for collectors that
  /// accumulate observations elsewhere. Single writer only (see the class).
  void merge_owned(const std::vector<uint64_t>& counts, double sum) noexcept;

  /// Observations per bucket (not cumulative; the last one is +Inf).
  [[nodiscard]] std::vector<uint64_t> bucket_counts() const;

  /// Returns the sum of the observations.
  [[nodiscard]] double sum() const noexcept {
    return sum_.load(std::memory_order_relaxed);
  }

  /// Returns the family's upper bounds (without +Inf).
  [[nodiscard]] const std::vector<double>& bounds() const noexcept {
    return *bounds_;
  }

 private:
  std::size_t bucket_of(double x) const noexcept;

  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// -- families -----------------------------------------------------------------

/// The series of one metric name: label names fixed at registration, one
/// series per distinct list of label values, created at zero on first use.
/// Series live as long as the registry (until the node stops): look one up
/// once and keep the pointer on hot paths.
///
/// Threading: every member may be called from any thread; `get` takes the
/// family's lock.
template <class T>
class family {
 public:
  /// @private
  family(metric_type type, std::string name, std::string help,
         std::vector<std::string> label_names, std::vector<double> bounds)
      : type_(type), name_(std::move(name)), help_(std::move(help)),
        label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

  family(const family&) = delete;
  family& operator=(const family&) = delete;

  [[nodiscard]] metric_type type() const noexcept { return type_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& help() const noexcept { return help_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const noexcept {
    return label_names_;
  }
  /// Returns the bucket upper bounds (histograms; empty otherwise).
  [[nodiscard]] const std::vector<double>& bounds() const noexcept {
    return bounds_;
  }

  /// Returns the series for `label_values` (one per label name, in their
  /// order; any UTF-8 text). Errors: `errc::invalid_argument` when the
  /// number of values differs from the number of label names.
  [[nodiscard]] caf::expected<T*> get(std::vector<std::string> label_values) {
    if (label_values.size() != label_names_.size())
      return make_error(errc::invalid_argument,
                        "metric " + name_ + ": expected "
                            + std::to_string(label_names_.size())
                            + " label values, got "
                            + std::to_string(label_values.size()));
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = series_.find(label_values);
    if (i == series_.end())
      i = series_.emplace(std::move(label_values), make()).first;
    return i->second.get();
  }

  /// Calls `fn(label_values, series)` for every series, in label order,
  /// holding the family's lock (so `fn` must not call `get`).
  template <class F>
  void for_each(F&& fn) const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [values, series] : series_)
      fn(values, static_cast<const T&>(*series));
  }

 private:
  std::unique_ptr<T> make() const {
    if constexpr (std::is_same_v<T, histogram>)
      return std::make_unique<T>(bounds_);
    else
      return std::make_unique<T>();
  }

  metric_type type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mtx_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

// -- registry -----------------------------------------------------------------

namespace detail {
struct registry_impl;
struct registry_access;
} // namespace detail

/// Keeps a collector (or a status provider, status.hpp) registered;
/// move-only. Destroying (or `reset`) it
/// removes the collector, waiting for a collection running it to finish.
class collector_handle {
 public:
  collector_handle() = default;
  /// @private
  collector_handle(std::weak_ptr<detail::registry_impl> reg, uint64_t id)
      : reg_(std::move(reg)), id_(id) {}
  collector_handle(collector_handle&& other) noexcept
      : reg_(std::move(other.reg_)), id_(std::exchange(other.id_, 0)) {}
  collector_handle& operator=(collector_handle&& other) noexcept;
  ~collector_handle() { reset(); }

  /// Removes the collector. No-op when empty or once the registry is gone.
  void reset() noexcept;

  /// Runs the collector one last time (so that what it published last
  /// stays in the registry), then removes it.
  void finish() noexcept;

 private:
  std::weak_ptr<detail::registry_impl> reg_;
  uint64_t id_ = 0;
};

/// The metrics of one node: families registered by name, and collectors
/// (functions run before each exposition, to publish values held elsewhere:
/// actor-owned counters, sizes behind a lock).
///
/// Names follow Prometheus: a metric name matches `[a-zA-Z_:][a-zA-Z0-9_:]*`
/// and a counter's ends in `_total`; label names match `[a-zA-Z_][a-zA-Z0-9_]*`
/// and do not start with `__`; a histogram has no label `le`.
///
/// Threading: every member may be called from any thread.
class registry {
 public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Registers a counter family, or returns the one registered before with
  /// the same name, type and label names. Errors: `errc::invalid_argument`
  /// for a bad name or label name, or a name taken with another type or
  /// other label names.
  [[nodiscard]] caf::expected<counter_family*>
  add_counter(std::string name, std::string help,
              std::vector<std::string> label_names = {});

  /// Registers a gauge family (see `add_counter`).
  [[nodiscard]] caf::expected<gauge_family*>
  add_gauge(std::string name, std::string help,
            std::vector<std::string> label_names = {});

  /// Registers a histogram family with strictly increasing, finite upper
  /// `bounds` (+Inf is implied); see `add_counter`. Re-registering needs the
  /// same bounds.
  [[nodiscard]] caf::expected<histogram_family*>
  add_histogram(std::string name, std::string help,
                std::vector<std::string> label_names,
                std::vector<double> bounds);

  /// Adds `fn`, run before every exposition (`collect`) on the thread that
  /// asks for it, never twice at once: inside it, `counter::add_owned` is
  /// safe on series that only collectors write. It must be quick and must
  /// not block on actors, nor register collectors.
  [[nodiscard]] collector_handle add_collector(std::function<void()> fn);

  /// Runs every collector.
  void collect();

  /// Runs the collectors and returns every family in the Prometheus text
  /// exposition format 0.0.4 (families in registration order, series in
  /// label order).
  [[nodiscard]] std::string to_prometheus();

 private:
  friend struct detail::registry_access; // the status document (status.hpp)
  std::shared_ptr<detail::registry_impl> impl_;
};

/// Returns the registry of `n`. Precondition: `n.running()`. It and its
/// series live until the node stops; a restarted node has a new, empty one
/// (plus the built-in metrics).
[[nodiscard]] registry& of(node& n);

/// Returns the registry of the node that owns `sys`, or null when `sys` was
/// not made by a `coactor::node`. For actors: `of(self->home_system())`.
[[nodiscard]] registry* of(caf::actor_system& sys);

/// Returns the port `/metrics` is served on, when `node_options::metrics_port`
/// is set (useful with port 0).
[[nodiscard]] std::optional<uint16_t> endpoint_port(node& n);

/// The content type of `registry::to_prometheus` output.
inline constexpr const char* prometheus_content_type
    = "text/plain; version=0.0.4; charset=utf-8";

} // namespace metrics

} // namespace coactor
