// Buffer overflow policies and the routing of items to parallel copies.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace coactor::actors {

/// What a buffer does with items that arrive while it is full. Only push
/// sources (which ignore credit, e.g. a timer) can overfill a buffer: with
/// credit-respecting upstreams a buffer is never over capacity.
enum class overflow_policy : uint8_t {
  /// Never accept more than the credit granted; an upstream sending beyond
  /// it breaks the protocol (`errc::protocol_violation`).
  backpressure,
  /// Keep the newest items: drop the oldest buffered items to make room.
  drop_oldest,
  /// Keep the buffered items: drop the arriving items that do not fit.
  drop_newest,
  /// Stop the pipeline with `errc::buffer_overflow`.
  fail,
};

/// Returns the name of `x`, e.g. "drop_oldest".
[[nodiscard]] std::string_view to_string(overflow_policy x) noexcept;

/// What an edge promises about the items it carries.
enum class delivery : uint8_t {
  /// Items in flight are lost when the receiver dies (the default; no acks).
  at_most_once,
  /// The sender keeps each batch until the receiver acknowledges it after
  /// processing (`ack`), and redelivers what is unacknowledged to a
  /// restarted or reconnected receiver: nothing accepted is lost, an item
  /// may arrive twice (an idempotent sink drops the repeats).
  at_least_once,
};

/// Returns the name of `x`, e.g. "at_least_once".
[[nodiscard]] std::string_view to_string(delivery x) noexcept;

/// How a stage answers a failure of its function (an exception, or an error
/// it returns): after Erlang/OTP's restart intensity, applied to the
/// function's state inside the stage's actor. A restarted stage gets a fresh
/// function (a copy of the one it was built with: state captured by value
/// starts over) and is handed the failed batch again, whole; the pipeline,
/// its credit and its paths go on. More than `intensity` restarts within
/// `period` fail the pipeline with `errc::restart_limit`, naming the stage
/// and the last failure: a batch that always fails cannot loop.
struct restart_policy {
  /// Restarts allowed within `period`; 0 (the default): the first failure
  /// fails the pipeline (`errc::stage_failed`).
  size_t intensity = 0;
  std::chrono::nanoseconds period = std::chrono::seconds{5};

  [[nodiscard]] bool enabled() const noexcept { return intensity > 0; }
};

/// How a stage spreads its output over several downstream copies.
enum class route : uint8_t {
  /// Each batch goes to the next copy that has credit (a faster copy takes
  /// more): work sharing.
  round_robin,
  /// Every item goes to every copy (sent when all have credit).
  broadcast,
  /// Items with equal keys always go to the same copy (the key's hash modulo
  /// the number of copies): per-key order is kept.
  by_key,
};

/// Returns the name of `x`, e.g. "round_robin".
[[nodiscard]] std::string_view to_string(route x) noexcept;

/// The routing of items of type `T` to a level of parallel copies.
template <class T>
struct routing {
  route mode = route::round_robin;
  /// Required for `route::by_key`: maps an item to a hash.
  std::function<size_t(const T&)> key;
};

/// Runs `copies` copies of a consumer or stage behind a router:
/// `.to(consumer, parallel(4))`. A parallelism of 0 is rejected when the
/// pipeline runs (`errc::invalid_argument`).
struct parallel {
  explicit parallel(size_t copies = 1, route mode = route::round_robin)
      : copies(copies), mode(mode) {}
  size_t copies;
  route mode;
};

/// Like `parallel`, routing by key: items for which `key(item)` is equal go
/// to the same copy. `F` maps an item to anything `std::hash` accepts.
template <class F>
struct keyed_parallel {
  size_t copies;
  F key;
};

/// Returns `copies` copies behind a key-partitioning router.
template <class F>
keyed_parallel<F> partition_by(size_t copies, F key) {
  return {copies, std::move(key)};
}

namespace detail {

template <class T>
routing<T> make_routing(const parallel& p) {
  return {p.mode, nullptr};
}

template <class T, class F>
routing<T> make_routing(const keyed_parallel<F>& p) {
  routing<T> r;
  r.mode = route::by_key;
  r.key = [key = p.key](const T& x) -> size_t {
    using key_type = std::decay_t<std::invoke_result_t<const F&, const T&>>;
    return std::hash<key_type>{}(key(x));
  };
  return r;
}

template <class F>
size_t copies_of(const keyed_parallel<F>& p) {
  return p.copies;
}

inline size_t copies_of(const parallel& p) {
  return p.copies;
}

} // namespace detail

} // namespace coactor::actors
