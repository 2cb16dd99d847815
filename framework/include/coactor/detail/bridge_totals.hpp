// Internals: the node's bridge figures (docs/observability.md), added to by
// every bridge of the node once per burst of calls, not once per call.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <caf/actor_system.hpp>

namespace coactor::detail {

/// What the bridges of one node delivered, dropped and saw fail. Any thread.
struct bridge_totals {
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> failed{0};

  static void add(std::atomic<uint64_t>& x, uint64_t n) noexcept {
    if (n != 0)
      x.fetch_add(n, std::memory_order_relaxed);
  }
};

/// Returns the bridge figures of the node that owns `sys`, or null when
/// `sys` was not made by a `coactor::node` or its built-in metrics are off.
/// Shared: a bridge may count a drop on a caller's thread after its node
/// stopped. Any thread.
[[nodiscard]] std::shared_ptr<bridge_totals>
bridge_totals_of(caf::actor_system& sys) noexcept;

} // namespace coactor::detail
