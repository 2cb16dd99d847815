// Private: the node's metrics service (its registry, the built-in node
// metrics, the HTTP endpoint), started with the node.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "../node_context.hpp"
#include "coactor/detail/ask_stats.hpp"
#include "coactor/metrics.hpp"

namespace coactor {
class node;
} // namespace coactor

namespace coactor::metrics::detail {

/// The node's ask figures (ask_metrics.cpp): the shards that `ask` and
/// `when_all` count into (`node_context::asks` while this lives) and the
/// collector that publishes them.
class ask_metrics {
 public:
  ask_metrics(registry& reg, coactor::detail::node_context& ctx);
  ~ask_metrics();
  ask_metrics(const ask_metrics&) = delete;
  ask_metrics& operator=(const ask_metrics&) = delete;

 private:
  coactor::detail::node_context& ctx_;
  std::unique_ptr<coactor::detail::ask_stats> stats_;
  collector_handle collector_; // after `stats_`: removed before it dies
};

/// Makes the node's bridge figures (`node_context::bridges`) and a collector
/// publishing them to `reg` (bridge_metrics.cpp).
collector_handle publish_bridges(registry& reg,
                                 coactor::detail::node_context& ctx);

/// Requests per second the node's observability server starts at most (a
/// burst of as many at once; more wait their turn): what a flood of
/// requests can cost the node, whatever the client (docs/observability.md).
inline constexpr std::size_t endpoint_max_requests_per_second = 100;

class metrics_service : public coactor::detail::node_service {
 public:
  /// Registers the built-in node metrics.
  explicit metrics_service(coactor::detail::node_context& ctx);

  registry reg;
  std::optional<uint16_t> port;

  [[nodiscard]] std::chrono::steady_clock::time_point started() const noexcept {
    return started_;
  }

 private:
  std::chrono::steady_clock::time_point started_;
  collector_handle collector_;        // after `reg`: removed before it dies
  std::unique_ptr<ask_metrics> asks_; // null when built-in metrics are off
  collector_handle bridges_;
};

/// Returns the status document of the node of `ctx` (status.cpp).
nlohmann::json snapshot(coactor::detail::node_context& ctx);

/// Returns the status page (status_page.cpp).
std::string_view page_html() noexcept;

/// Returns the service of `ctx`, created on first use.
metrics_service& service_of(coactor::detail::node_context& ctx);

/// Creates `n`'s registry with the built-in node metrics and, when
/// `metrics_port` is set, serves `/metrics` on it. Errors: those of
/// `http::serve` (e.g. `errc::io_error` when the port is taken).
caf::error start_node_metrics(node& n);

} // namespace coactor::metrics::detail
