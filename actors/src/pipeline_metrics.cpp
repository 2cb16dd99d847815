// Publishes a running pipeline's per-stage probes to the node's metrics
// registry: read by a collector at each exposition, never per item.
#include <cstdint>
#include <string>
#include <vector>

#include "coactor/actors/pipeline.hpp"

namespace coactor::actors::detail {

namespace {

// One probe's series and what it added to them so far: series are keyed by
// stage and kind, so runs (and copies) of a stage add up, and a counter never
// goes back when a run ends and another starts.
struct published {
  stage_probe_ptr probe;
  metrics::counter* in = nullptr;
  metrics::counter* out = nullptr;
  metrics::counter* dropped = nullptr;
  metrics::gauge* buffered = nullptr;
  uint64_t in_seen = 0;
  uint64_t out_seen = 0;
  uint64_t dropped_seen = 0;
  uint64_t buffered_seen = 0;
};

// Adds what `x` grew by since last time; single writer: only collectors
// (serialized by the registry) write these series.
void advance(metrics::counter* c, const std::atomic<uint64_t>& now,
             uint64_t& seen) {
  auto v = now.load(std::memory_order_relaxed);
  if (c != nullptr && v > seen)
    c->add_owned(v - seen);
  seen = v;
}

template <class Family>
auto series(caf::expected<Family*>& fam, const stage_probe& p)
    -> decltype((*fam)->get({})) {
  if (!fam)
    return fam.error();
  return (*fam)->get({p.level, p.kind});
}

} // namespace

metrics::collector_handle
publish_metrics(coactor::node& n, const std::shared_ptr<run_state>& run) {
  auto& reg = metrics::of(n);
  std::vector<std::string> labels{"stage", "kind"};
  auto in = reg.add_counter("coactor_pipeline_stage_items_in_total",
                            "Items a pipeline stage received.", labels);
  auto out = reg.add_counter("coactor_pipeline_stage_items_out_total",
                             "Items a pipeline stage sent on (sinks: "
                             "consumed).",
                             labels);
  auto dropped = reg.add_counter("coactor_pipeline_stage_dropped_total",
                                 "Items a pipeline stage dropped (overflow "
                                 "policies).",
                                 labels);
  auto buffered = reg.add_gauge("coactor_pipeline_stage_buffered_items",
                                "Items a pipeline stage holds now.", labels);
  if (auto runs
      = reg.add_counter("coactor_pipeline_runs_total", "Pipelines started."))
    if (auto c = (*runs)->get({}))
      (*c)->inc();
  std::vector<published> state;
  for (auto& p : run->probes) {
    published x;
    x.probe = p;
    if (auto c = series(in, *p))
      x.in = *c;
    if (auto c = series(out, *p))
      x.out = *c;
    if (auto c = series(dropped, *p))
      x.dropped = *c;
    if (auto g = series(buffered, *p))
      x.buffered = *g;
    state.push_back(std::move(x));
  }
  // Holds the probes only (plain data), not the run and its actors.
  return reg.add_collector([state = std::move(state)]() mutable {
    for (auto& x : state) {
      advance(x.in, x.probe->in, x.in_seen);
      advance(x.out, x.probe->out, x.out_seen);
      advance(x.dropped, x.probe->dropped, x.dropped_seen);
      auto b = x.probe->buffered.load(std::memory_order_relaxed);
      if (x.buffered != nullptr)
        x.buffered->add(static_cast<double>(b)
                        - static_cast<double>(x.buffered_seen));
      x.buffered_seen = b;
    }
  });
}

} // namespace coactor::actors::detail
