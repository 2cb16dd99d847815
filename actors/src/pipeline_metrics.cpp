// Publishes a running pipeline's per-stage probes to the node's metrics
// registry: read by a collector at each exposition, never per item.
#include <cstdint>
#include <string>
#include <utility>
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
  metrics::counter* redelivered = nullptr;
  metrics::counter* duplicates = nullptr;
  metrics::counter* restarts = nullptr;
  metrics::gauge* buffered = nullptr;
  metrics::histogram* latency = nullptr; // made once the probe has samples
  std::vector<uint64_t> latency_seen;    // per bucket
  uint64_t latency_sum_seen = 0;
  uint64_t in_seen = 0;
  uint64_t out_seen = 0;
  uint64_t dropped_seen = 0;
  uint64_t redelivered_seen = 0;
  uint64_t duplicates_seen = 0;
  uint64_t restarts_seen = 0;
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

// Upper bounds of the emit-to-consume latency buckets.
const std::vector<double> latency_bounds_s{1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2,
                                           5e-2, 0.1,  0.5,  1,    5,    10};

const std::vector<uint64_t>& latency_bounds_ns() {
  static const auto bounds = [] {
    std::vector<uint64_t> out;
    for (auto s : latency_bounds_s)
      out.push_back(static_cast<uint64_t>(s * 1e9 + 0.5));
    return out;
  }();
  return bounds;
}

// Adds what a sink's latency histogram grew by since last time.
void advance_latency(published& x, metrics::histogram_family* fam) {
  auto& h = x.probe->latency;
  if (h.count() == 0 || fam == nullptr)
    return;
  if (x.latency == nullptr) {
    auto s = fam->get({x.probe->level});
    if (!s)
      return;
    x.latency = *s;
    x.latency_seen.assign(latency_bounds_s.size() + 1, 0);
  }
  std::vector<uint64_t> now;
  auto sum = h.export_to(latency_bounds_ns(), now);
  for (std::size_t i = 0; i < now.size(); ++i) {
    auto seen = std::exchange(x.latency_seen[i], now[i]);
    now[i] = now[i] >= seen ? now[i] - seen : 0;
  }
  auto sum_seen = std::exchange(x.latency_sum_seen, sum);
  x.latency->merge_owned(now, static_cast<double>(sum - sum_seen) * 1e-9);
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
  auto redelivered = reg.add_counter(
      "coactor_pipeline_stage_redelivered_total",
      "Items an at-least-once stage sent again to a replaced downstream.",
      labels);
  auto duplicates
      = reg.add_counter("coactor_pipeline_stage_duplicates_total",
                        "Repeated items an idempotent sink dropped.", labels);
  auto restarts = reg.add_counter(
      "coactor_pipeline_stage_restarts_total",
      "Restarts of a stage's function after it failed (restart_on_failure).",
      labels);
  auto buffered = reg.add_gauge("coactor_pipeline_stage_buffered_items",
                                "Items a pipeline stage holds now.", labels);
  auto latency = reg.add_histogram(
      "coactor_pipeline_latency_seconds",
      "Time from a batch's emit by its producer to its consumption, per "
      "sink, weighted by items (from the oldest item of each batch).",
      {"stage"}, latency_bounds_s);
  metrics::histogram_family* latency_family = latency ? *latency : nullptr;
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
    if (auto c = series(redelivered, *p))
      x.redelivered = *c;
    if (auto c = series(duplicates, *p))
      x.duplicates = *c;
    if (auto c = series(restarts, *p))
      x.restarts = *c;
    if (auto g = series(buffered, *p))
      x.buffered = *g;
    state.push_back(std::move(x));
  }
  // Holds the probes only (plain data), not the run and its actors.
  return reg.add_collector(
      [state = std::move(state), latency_family]() mutable {
        for (auto& x : state) {
          advance_latency(x, latency_family);
          advance(x.in, x.probe->in, x.in_seen);
          advance(x.out, x.probe->out, x.out_seen);
          advance(x.dropped, x.probe->dropped, x.dropped_seen);
          advance(x.redelivered, x.probe->redelivered, x.redelivered_seen);
          advance(x.duplicates, x.probe->duplicates, x.duplicates_seen);
          advance(x.restarts, x.probe->restarts, x.restarts_seen);
          auto b = x.probe->buffered.load(std::memory_order_relaxed);
          if (x.buffered != nullptr)
            x.buffered->add(static_cast<double>(b)
                            - static_cast<double>(x.buffered_seen));
          x.buffered_seen = b;
        }
      });
}

} // namespace coactor::actors::detail
