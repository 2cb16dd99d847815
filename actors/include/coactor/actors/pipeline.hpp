// coactor::actors::pipeline: builds a pipeline of producers, stages and
// consumers, runs it, and reports a summary.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "coactor/actors/buffer.hpp"
#include "coactor/actors/consumer.hpp"
#include "coactor/actors/detail/stage_actors.hpp"
#include "coactor/actors/policy.hpp"
#include "coactor/actors/producer.hpp"
#include "coactor/actors/stage.hpp"
#include "coactor/error.hpp"
#include "coactor/metrics.hpp"
#include "coactor/node.hpp"

namespace coactor::actors {

// -- results
// -------------------------------------------------------------------

/// Figures of one stage (its parallel copies added up).
struct stage_summary {
  std::string name;
  std::string kind;
  size_t copies = 1;
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t dropped = 0;
  /// The most items one copy held at once (buffers: never above capacity
  /// with credit-respecting upstreams).
  uint64_t high_water = 0;
  uint64_t capacity = 0;
  /// At-least-once edges: items sent again to a replaced downstream
  /// (outlets), repeats dropped (idempotent sinks).
  uint64_t redelivered = 0;
  uint64_t duplicates = 0;
  /// Restarts of the stage's function after failures (`restart_on_failure`).
  uint64_t restarts = 0;
};

/// What a completed pipeline reports.
struct pipeline_summary {
  /// Stages from source to sink.
  std::vector<stage_summary> stages;
  uint64_t produced = 0;
  uint64_t consumed = 0;
  uint64_t dropped = 0;
  /// Items sent again after a downstream was replaced, and the repeats
  /// idempotent sinks dropped (at-least-once edges; see `outlet_spec::
  /// at_least_once`). `consumed` counts the repeats too.
  uint64_t redelivered = 0;
  uint64_t duplicates = 0;
  /// Restarts of stage functions after failures (`restart_on_failure`).
  uint64_t restarts = 0;
  std::chrono::nanoseconds duration{0};
  /// Consumed items per second.
  double rate = 0;
  /// Emit→consume latency (per batch: from the emit of its oldest item).
  std::chrono::nanoseconds latency_p50{0};
  std::chrono::nanoseconds latency_p99{0};

  /// Returns the stage named `name`, or null.
  [[nodiscard]] const stage_summary* stage(const std::string& name) const;

  /// Renders the summary as a few human-readable lines.
  [[nodiscard]] std::string to_string() const;
};

/// Live figures of a running pipeline.
struct pipeline_progress {
  uint64_t produced = 0;
  uint64_t consumed = 0;
  uint64_t dropped = 0;
  /// Items held by the buffer stages now, and their total capacity.
  uint64_t buffered = 0;
  uint64_t buffer_capacity = 0;
  std::chrono::nanoseconds elapsed{0};
};

/// Called exactly once with the summary or the first error.
using completion_handler = std::function<void(caf::expected<pipeline_summary>)>;

namespace detail {

/// The shared record of one run: filled by the builder before the controller
/// starts, then read by the controller and (atomics only) by any thread.
struct run_state {
  std::vector<stage_probe_ptr> probes;
  std::vector<int> positions; // level of each probe, source = 0
  std::vector<caf::actor> actors;
  std::chrono::steady_clock::time_point started;
  completion_handler on_done;
  /// Publishes the probes to the node's metrics; its last run keeps the
  /// final figures there.
  metrics::collector_handle publisher;
  /// Shows the run in the node's status document until it completes.
  metrics::collector_handle status;

  ~run_state() { publisher.finish(); }
};

/// Registers a collector publishing `run`'s probes (per stage: items in and
/// out, drops, buffered items) to `n`'s metrics registry.
metrics::collector_handle
publish_metrics(coactor::node& n, const std::shared_ptr<run_state>& run);

/// Adds `run` to `n`'s status document (section "pipelines": stages with
/// their position, figures and rate, and the edges between them).
metrics::collector_handle publish_status(coactor::node& n,
                                         const std::shared_ptr<run_state>& run);

/// Collects the actors of a pipeline while the builder spawns them.
struct build_context {
  coactor::node* node = nullptr;
  caf::actor controller;
  std::shared_ptr<run_state> run;

  /// Registers a stage actor-to-be; returns its context.
  stage_context add(std::string name, std::string level, std::string kind,
                    uint64_t capacity, int position);
};

/// Spawns the controller of one run.
caf::actor spawn_controller(coactor::node& n, std::shared_ptr<run_state> run);

/// Tells the controller that every stage is spawned.
void start_controller(const caf::actor& controller);

/// Builds the summary of a finished run.
pipeline_summary summarize(const run_state& run);

/// Names a level uniquely within a pipeline.
std::string unique_name(std::vector<std::string>& taken, std::string name);

/// Returns the name of copy `i` of `n`.
std::string copy_name(const std::string& level, size_t i, size_t n);

template <class Spec>
caf::error check_stage(const Spec& s, size_t copies) {
  if (copies == 0)
    return make_error(errc::invalid_argument,
                      "stage '" + s.name + "': parallelism must be at least 1");
  if (s.capacity() == 0)
    return make_error(errc::invalid_argument,
                      "stage '" + s.name + "': capacity must be at least 1");
  if (s.max_batch() == 0)
    return make_error(errc::invalid_argument,
                      "stage '" + s.name + "': max_batch must be at least 1");
  return {};
}

} // namespace detail

// -- running
// -------------------------------------------------------------------

/// A started pipeline. Copyable handle; thread-safe.
class running_pipeline {
 public:
  running_pipeline() = default;
  running_pipeline(std::shared_ptr<detail::run_state> run, caf::actor ctl)
      : run_(std::move(run)), controller_(std::move(ctl)) {}

  /// Returns live figures (relaxed reads of the stages' counters).
  [[nodiscard]] pipeline_progress progress() const;

  /// Returns live per-stage figures in pipeline order (relaxed reads of the
  /// stages' counters; `duration` is the time since the start).
  [[nodiscard]] pipeline_summary snapshot() const;

  /// Returns each stage actor with its name ("consumer[2]").
  [[nodiscard]] std::vector<std::pair<std::string, caf::actor>> stages() const;

  /// Returns the actor of the stage named `name` (e.g. an inlet, to hand to
  /// an outlet on another node), or null when there is none.
  [[nodiscard]] caf::actor stage(const std::string& name) const;

  /// Stops the pipeline: it completes with `errc::cancelled`.
  void cancel() const;

 private:
  std::shared_ptr<detail::run_state> run_;
  caf::actor controller_;
};

/// A complete pipeline, ready to run (any number of times).
class runnable_pipeline {
 public:
  runnable_pipeline(coactor::node* n,
                    std::function<void(detail::build_context&)> build,
                    caf::error err)
      : node_(n), build_(std::move(build)), err_(std::move(err)) {}

  /// Returns the first error the builder found (e.g. a capacity or a
  /// parallelism of 0: `errc::invalid_argument`), or none.
  [[nodiscard]] const caf::error& validate() const noexcept { return err_; }

  /// Spawns every stage on the node and returns at once. `on_done` runs
  /// exactly once, in the pipeline's controller actor (keep it short; post
  /// to your own actor or fulfil a promise), with the summary when every
  /// consumer saw the end of the stream, or with the first error: a failed
  /// stage (`errc::stage_failed` naming it), a dead stage (naming it), a
  /// buffer overflow (`errc::buffer_overflow`), a cancellation. Returns the
  /// validation error without spawning anything.
  caf::expected<running_pipeline> start(completion_handler on_done) const;

  /// Runs the pipeline and blocks the calling thread until it completed.
  /// For `main` and tests on a threaded node: never call it from an actor or
  /// on a node with the testing scheduler (nothing would run).
  caf::expected<pipeline_summary> run() const;

 private:
  coactor::node* node_;
  std::function<void(detail::build_context&)> build_;
  caf::error err_;
};

// -- building
// ------------------------------------------------------------------

/// A pipeline under construction whose last level emits items of type `T`.
/// Each `via`/`to` returns a new builder; errors (capacity 0, parallelism 0)
/// are kept and returned by `runnable_pipeline::validate`, `start` and `run`.
template <class T>
class pipeline_builder {
 public:
  using value_type = T;
  using prefix_fn = std::function<void(
      detail::build_context&, const std::vector<detail::peer>&, routing<T>)>;

  pipeline_builder(coactor::node* n, prefix_fn prefix, size_t last_copies,
                   int levels, std::vector<std::string> names, caf::error err)
      : node_(n), prefix_(std::move(prefix)), last_copies_(last_copies),
        levels_(levels), names_(std::move(names)), err_(std::move(err)) {}

  /// Appends a stage (buffer, map, filter, flat_map, batch), optionally as
  /// parallel copies behind a router: `parallel(4)`,
  /// `parallel(4, route::broadcast)`, `partition_by(4, key)`.
  template <class Spec, class Par = parallel>
  auto via(Spec s, Par par = parallel{1}) && {
    using Out = typename Spec::template def<T>::out_type;
    auto copies = detail::copies_of(par);
    auto err = err_ ? err_ : detail::check_stage(s, copies);
    auto name = detail::unique_name(names_, s.name);
    auto pos = levels_;
    auto make = s.template make<T>();
    auto prefix = [prev = std::move(prefix_), make, name, kind = s.kind(),
                   capacity = s.capacity(), policy = s.policy(),
                   max_batch = s.max_batch(), restarts = detail::restarts_of(s),
                   copies, pos, up = last_copies_,
                   route = detail::make_routing<T>(par)](
                      detail::build_context& ctx,
                      const std::vector<detail::peer>& downs, routing<Out> r) {
      std::vector<detail::peer> mine;
      for (size_t i = 0; i < copies; ++i) {
        auto nm = detail::copy_name(name, i, copies);
        detail::flow_args<T, Out> a;
        a.ctx = ctx.add(nm, name, kind, capacity, pos);
        a.upstreams = up;
        a.capacity = capacity;
        a.policy = policy;
        a.downs = downs;
        a.route = r;
        a.max_batch = max_batch;
        a.make = make;
        a.restarts = restarts;
        auto hdl = ctx.node->spawn(detail::flow_actor<T, Out>, std::move(a));
        ctx.run->actors.back() = hdl;
        mine.push_back({hdl, nm});
      }
      prev(ctx, mine, route);
    };
    return pipeline_builder<Out>{node_,   std::move(prefix), copies,
                                 pos + 1, std::move(names_), std::move(err)};
  }

  /// Ends the pipeline with a consumer (`for_each`, `for_each_batch`,
  /// `counter`, `to_file`), optionally as parallel copies behind a router.
  template <class Spec, class Par = parallel>
  runnable_pipeline to(Spec s, Par par = parallel{1}) && {
    auto copies = detail::copies_of(par);
    caf::error err = err_;
    if (!err && copies == 0)
      err = make_error(errc::invalid_argument,
                       "consumer '" + s.name
                           + "': parallelism must be at least 1");
    if (!err && s.window == 0)
      err = make_error(errc::invalid_argument,
                       "consumer '" + s.name + "': window must be at least 1");
    auto name = detail::unique_name(names_, s.name);
    auto build = [prev = std::move(prefix_), spec = std::move(s), name, copies,
                  pos = levels_, up = last_copies_,
                  route
                  = detail::make_routing<T>(par)](detail::build_context& ctx) {
      std::vector<detail::peer> sinks;
      for (size_t i = 0; i < copies; ++i) {
        auto nm = detail::copy_name(name, i, copies);
        auto sc = ctx.add(nm, name, "consumer", spec.window, pos);
        caf::actor hdl;
        if constexpr (requires { spec.template spawn_one<T>(ctx, sc, up); }) {
          hdl = spec.template spawn_one<T>(ctx, std::move(sc), up);
        } else {
          detail::sink_args<T> a;
          a.ctx = std::move(sc);
          a.upstreams = up;
          a.window = spec.window;
          a.make = spec.template make<T>();
          a.restarts = detail::restarts_of(spec);
          hdl = ctx.node->spawn(detail::sink_actor<T>, std::move(a));
        }
        ctx.run->actors.back() = hdl;
        sinks.push_back({hdl, nm});
      }
      prev(ctx, sinks, route);
    };
    return runnable_pipeline{node_, std::move(build), std::move(err)};
  }

 private:
  coactor::node* node_;
  prefix_fn prefix_;
  size_t last_copies_;
  int levels_;
  std::vector<std::string> names_;
  caf::error err_;
};

/// The start of a pipeline on a node: `pipeline(node).from(p)...`.
class pipeline_root {
 public:
  explicit pipeline_root(coactor::node& n) : node_(&n) {}

  /// Starts with a producer of another kind (e.g. `from_task` in
  /// `coactor/actors/async.hpp`).
  template <class Spec>
  requires requires(const Spec& s, coactor::node& n) { s.start_pipeline(n); }
  auto from(Spec s) const { return s.start_pipeline(*node_); }

  /// Starts with one producer.
  template <class T>
  pipeline_builder<T> from(producer<T> p) const {
    return from(std::vector<producer<T>>{std::move(p)});
  }

  /// Starts with several producers merged into the next level (fan-in):
  /// each next-level copy receives from every producer.
  template <class T>
  pipeline_builder<T> from(std::vector<producer<T>> ps) const {
    caf::error err;
    std::vector<std::string> names;
    std::vector<std::string> unique;
    for (auto& p : ps) {
      if (!err && p.options.max_batch == 0)
        err = make_error(errc::invalid_argument,
                         "producer '" + p.name
                             + "': max_batch must be at least 1");
      unique.push_back(detail::unique_name(names, p.name));
    }
    if (!err && ps.empty())
      err = make_error(errc::invalid_argument, "a pipeline needs a producer");
    auto n = ps.size();
    auto prefix = [ps = std::move(ps), unique](
                      detail::build_context& ctx,
                      const std::vector<detail::peer>& downs, routing<T> r) {
      for (size_t i = 0; i < ps.size(); ++i) {
        detail::source_args<T> a;
        a.ctx = ctx.add(unique[i], unique[i], "producer", 0, 0);
        a.downs = downs;
        a.route = r;
        a.max_batch = ps[i].options.max_batch;
        a.push = ps[i].options.push;
        a.period = ps[i].options.period;
        a.make = ps[i].make;
        a.commit = ps[i].commit;
        auto hdl = ctx.node->spawn(detail::source_actor<T>, std::move(a));
        ctx.run->actors.back() = hdl;
      }
    };
    return pipeline_builder<T>{node_, std::move(prefix), n,
                               1,     std::move(names),  std::move(err)};
  }

 private:
  coactor::node* node_;
};

/// Returns the start of a pipeline whose actors the node `n` owns (its
/// `stop` ends them). The node must outlive the runs.
inline pipeline_root pipeline(coactor::node& n) {
  return pipeline_root{n};
}

/// Returns several producers to merge: `pipeline(n).from(merge(p1, p2))`.
template <class T, class... Ts>
std::vector<producer<T>> merge(producer<T> first, Ts... rest) {
  return {std::move(first), std::move(rest)...};
}

} // namespace coactor::actors
