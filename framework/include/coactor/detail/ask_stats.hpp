// Internals: the node's ask figures (docs/observability.md), recorded where
// an ask ends, in `ask` and in `when_all`/`when_any` over asks.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/timestamp.hpp>

namespace coactor::detail {

/// The ask figures of one node (framework/src/metrics/ask_metrics.cpp).
struct ask_stats;

/// Returns the ask figures of the node that owns `sys`, or null when `sys`
/// was not made by a `coactor::node` or the node's built-in metrics are off
/// (`node_options::metrics`). The result lives as long as the node's actors.
/// Any thread.
[[nodiscard]] ask_stats* ask_stats_of(caf::actor_system& sys) noexcept;

/// Counts one finished ask that took `elapsed`, failed with `*err` unless
/// `err` is null. Any thread; a few uncontended atomic adds.
void record_ask(ask_stats& stats, caf::timespan elapsed,
                const caf::error* err) noexcept;

} // namespace coactor::detail
