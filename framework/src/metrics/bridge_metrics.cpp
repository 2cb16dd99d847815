// The node's bridge figures: added to by bridges once per burst
// (coactor/bridge.hpp), published to the registry by a collector.
#include "coactor/detail/bridge_totals.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "../node_context.hpp"
#include "coactor/metrics.hpp"
#include "endpoint.hpp"

namespace coactor::detail {

std::shared_ptr<bridge_totals>
bridge_totals_of(caf::actor_system& sys) noexcept {
  auto* ctx = node_context_of(sys);
  return ctx != nullptr ? ctx->bridges : nullptr;
}

} // namespace coactor::detail

namespace coactor::metrics::detail {

collector_handle publish_bridges(registry& reg,
                                 coactor::detail::node_context& ctx) {
  auto fam = reg.add_counter("coactor_bridge_calls_total",
                             "Calls into actors through bridges (make_bridge, "
                             "from_callback), by outcome: delivered (the "
                             "handler ran), failed (it threw; also counted "
                             "as delivered), dropped (bridge stopped or actor "
                             "gone).",
                             {"outcome"});
  if (!fam)
    return {};
  auto totals = std::make_shared<coactor::detail::bridge_totals>();
  ctx.bridges = totals;
  // The names are valid: these cannot fail.
  struct series {
    counter* c;
    const std::atomic<uint64_t>* source;
    uint64_t seen = 0;
  };
  std::array<series, 3> all{
      series{*(*fam)->get({"delivered"}), &totals->delivered},
      series{*(*fam)->get({"dropped"}), &totals->dropped},
      series{*(*fam)->get({"failed"}), &totals->failed}};
  // Only this collector writes the series (one collection at a time).
  return reg.add_collector([totals, all]() mutable {
    for (auto& s : all) {
      auto now = s.source->load(std::memory_order_relaxed);
      s.c->add_owned(now - std::exchange(s.seen, now));
    }
  });
}

} // namespace coactor::metrics::detail
