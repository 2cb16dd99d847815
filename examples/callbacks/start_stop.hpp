// The seed's object with start()/stop() whose background job reports through
// a callback, wrapped in an actor: callbacks reach actor state only through a
// bridge, late callbacks after stop are dropped and counted, a failing job is
// logged with its context. Shared by start_stop.cpp and its deterministic
// test (tests/framework/start_stop_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "coactor/bridge.hpp"
#include "coactor/error.hpp"
#include "coactor/log.hpp"
#include "coactor/offload.hpp"

namespace start_stop {

using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using summary_atom = caf::atom_constant<caf::atom("summary")>;

/// The legacy interface: a component that runs jobs in the background and
/// reports each outcome through a callback, from a thread of its own, maybe
/// even after `stop()` was called.
class job_source {
 public:
  using callback = std::function<void(int job, caf::expected<int> outcome)>;

  virtual ~job_source() = default;

  /// Starts the background work; `cb` is called from a foreign thread.
  virtual void start(callback cb) = 0;

  /// Stops the background work; may block until the worker ended (so it
  /// must not run on a CAF thread) and callbacks may still come meanwhile.
  virtual void stop() = 0;

  /// Returns whether `stop` may block (then it runs on the worker pool).
  virtual bool stop_blocks() const { return true; }
};

/// What the monitor saw: {completed, failed, late callbacks dropped}.
using summary = std::vector<uint64_t>;

struct monitor_state {
  std::string source_name;
  std::shared_ptr<job_source> source;
  coactor::bridge<int, caf::expected<int>> on_outcome;
  uint64_t completed = 0;
  uint64_t failed = 0;
  int64_t sum = 0;
  // Requests waiting for a number of outcomes.
  std::vector<std::pair<uint64_t, caf::response_promise>> waiting;
  static inline const char* name = "job_monitor";

  summary make_summary() const {
    return {completed, failed, on_outcome.stats().dropped};
  }
};

using monitor_ptr = caf::stateful_actor<monitor_state>*;

/// Runs in the actor for every callback of the source: state is touched
/// only here, so a test can drive it deterministically.
inline void on_outcome(monitor_ptr self, int job, caf::expected<int> outcome) {
  auto& st = self->state;
  if (outcome) {
    ++st.completed;
    st.sum += *outcome;
  } else {
    ++st.failed;
    // The context a plain callback loses: which object, which job, why.
    coactor::log::error(self, "source '{}' job {} failed: {}", st.source_name,
                        job, coactor::describe(outcome.error()));
  }
  auto seen = st.completed + st.failed;
  auto& ws = st.waiting;
  for (auto i = ws.begin(); i != ws.end();) {
    if (seen >= i->first) {
      i->second.deliver(seen);
      i = ws.erase(i);
    } else {
      ++i;
    }
  }
}

/// An actor that owns a job source: `start` starts it, `wait(n)` answers
/// once `n` outcomes arrived, `stop` stops the bridge first (later
/// callbacks are dropped and counted), then the source on the worker pool
/// (its `stop` may block), and answers with the summary.
inline caf::behavior monitor(monitor_ptr self, std::string name,
                             std::shared_ptr<job_source> source) {
  self->state.source_name = std::move(name);
  self->state.source = std::move(source);
  self->state.on_outcome
      = coactor::make_bridge(self, [self](int job, caf::expected<int> outcome) {
          on_outcome(self, job, std::move(outcome));
        });
  return {
      [self](start_atom) {
        auto b = self->state.on_outcome;
        self->state.source->start([b](int job, caf::expected<int> outcome) {
          b(job, std::move(outcome)); // any thread; never throws
        });
      },
      [self](wait_atom, uint64_t n) -> caf::result<uint64_t> {
        auto seen = self->state.completed + self->state.failed;
        if (seen >= n)
          return seen;
        auto rp = self->make_response_promise();
        self->state.waiting.emplace_back(n, rp);
        return rp;
      },
      [self](stop_atom) -> caf::result<summary> {
        self->state.on_outcome.stop(); // from now on: dropped and counted
        auto src = self->state.source;
        if (!src->stop_blocks()) {
          src->stop();
          return self->state.make_summary();
        }
        auto rp = self->make_response_promise<summary>();
        coactor::async_offload(
            self, [src] { src->stop(); },
            [self, rp](caf::expected<void> res) mutable {
              if (!res)
                coactor::log::error(self, "stopping source '{}' failed: {}",
                                    self->state.source_name,
                                    coactor::describe(res.error()));
              rp.deliver(self->state.make_summary());
            });
        return rp;
      },
      [self](summary_atom) { return self->state.make_summary(); },
  };
}

} // namespace start_stop
