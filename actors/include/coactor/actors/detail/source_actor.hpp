// Internal: the source actor (no upstream): generates within the credit its
// downstreams granted, or freely when pushing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "coactor/actors/detail/outbound.hpp"
#include "coactor/actors/detail/stage_common.hpp"
#include "coactor/actors/policy.hpp"
#include "coactor/actors/protocol.hpp"

namespace coactor::actors::detail {

/// A source's message to itself: write its committed count now.
using commit_atom = caf::atom_constant<caf::atom("cx_commit")>;

/// Writes `n` to the commit file `path` (replacing it whole: a crash leaves
/// the old count or the new one). Fails with `errc::io_error` naming it.
caf::error write_committed(const std::string& path, uint64_t n);

/// Where a committing source records how many of its items the pipeline
/// consumed (`producer::commit_to`).
struct commit_options {
  std::string path; // empty: the source does not commit
  uint64_t base = 0;
  caf::timespan interval{0};
};

template <class T>
struct source_args {
  stage_context ctx;
  std::vector<peer> downs;
  routing<T> route;
  size_t max_batch = 1024;
  bool push = false;
  caf::timespan period{0};
  std::function<generator<T>()> make;
  commit_options commit;
};

template <class T>
struct source_state {
  static inline const char* name = "coactor.producer";
  stage_context ctx;
  outbound<T> out{{}, {}, 1};
  generator<T> gen;
  size_t max_batch = 1024;
  bool push = false;
  caf::timespan period{0};
  bool exhausted = false;
  bool resume_pending = false;
  bool finished = false;
  commit_options commit;
  uint64_t written = 0; // the settled count in the commit file
  bool commit_armed = false;
};

/// Writes the committed count when it grew; a failed write fails the stage.
template <class T>
void source_commit(caf::stateful_actor<source_state<T>>* self) {
  auto& st = self->state;
  auto settled = st.out.settled();
  if (st.commit.path.empty() || settled == st.written)
    return;
  if (auto err = write_committed(st.commit.path, st.commit.base + settled)) {
    st.commit.path.clear(); // once
    fail_stage(self,
               stage_error(*st.ctx.probe, errc::io_error, context_of(err)));
    return;
  }
  st.written = settled;
}

/// Generates within credit (or freely when pushing), a bounded amount per
/// message so that the actor never hogs its worker thread.
template <class T>
void source_pump(caf::stateful_actor<source_state<T>>* self) {
  auto& st = self->state;
  auto& probe = *st.ctx.probe;
  probe.add_out(st.out.emit(self, st.push));
  constexpr int rounds_per_message = 16;
  int round = 0;
  for (; round < rounds_per_message && !st.exhausted && !st.finished; ++round) {
    int64_t avail
        = st.push ? static_cast<int64_t>(st.max_batch)
                  : st.out.credit() - static_cast<int64_t>(st.out.buffered());
    if (avail <= 0)
      break;
    auto want = std::min(static_cast<size_t>(avail), st.max_batch);
    std::vector<T> xs;
    bool more = true;
    auto err = guarded(probe, [&]() -> caf::error {
      auto r = st.gen(xs, want);
      if (!r)
        return std::move(r.error());
      more = *r;
      return {};
    });
    if (err) {
      fail_stage(self, err);
      return;
    }
    probe.add_in(xs.size());
    st.out.push(std::move(xs), now_ns());
    probe.add_out(st.out.emit(self, st.push));
    if (!more)
      st.exhausted = true;
    if (st.period.count() > 0)
      break; // one step per tick
  }
  probe.set_buffered(st.out.buffered());
  if (st.exhausted && st.out.held() == 0) { // committing: all acknowledged
    source_commit(self);
    if (!st.finished)
      finish_stage(self);
    return;
  }
  if (st.exhausted || st.resume_pending)
    return;
  if (st.period.count() > 0) {
    st.resume_pending = true;
    self->delayed_send(self, st.period, resume_atom::value);
  } else if (round == rounds_per_message || st.push) {
    st.resume_pending = true;
    self->send(self, resume_atom::value);
  }
}

template <class T>
caf::behavior source_actor(caf::stateful_actor<source_state<T>>* self,
                           source_args<T> args) {
  auto& st = self->state;
  st.ctx = std::move(args.ctx);
  st.max_batch = std::max<size_t>(1, args.max_batch);
  st.push = args.push;
  st.period = args.period;
  st.out = outbound<T>{args.downs, std::move(args.route), st.max_batch};
  st.commit = std::move(args.commit);
  if (!make_guarded(self, st.gen, args.make))
    return {};
  open_downstreams(self, args.downs);
  fail_on_peer_down(self);
  if (!st.commit.path.empty()) {
    if (!st.out.require_acks()) {
      fail_stage(self, stage_error(*st.ctx.probe, errc::invalid_argument,
                                   "commit_to: key partitioning over several "
                                   "copies acknowledges out of order"));
      return {};
    }
    send_acked_opens(self);
  }
  if (st.push) {
    st.resume_pending = true;
    self->send(self, resume_atom::value);
  }
  auto on_demand = [self](int64_t n) {
    auto& st = self->state;
    if (!take_demand(self, n))
      return;
    if ((!st.push && !st.resume_pending) || st.exhausted)
      source_pump(self);
  };
  // A committing source's downstreams acknowledge what the pipeline
  // consumed; the count goes to the file every interval and at the end.
  auto on_ack = [self](uint64_t seq) {
    auto& st = self->state;
    if (!take_ack(self, seq))
      return false;
    if (!st.commit_armed) {
      st.commit_armed = true;
      self->delayed_send(self, st.commit.interval, commit_atom::value);
    }
    return true;
  };
  return {
      [on_demand](demand_atom, int64_t n) { on_demand(n); },
      [on_demand, on_ack](demand_atom, int64_t n, uint64_t seq) {
        if (on_ack(seq))
          on_demand(n);
      },
      [self, on_ack](ack_atom, uint64_t seq) {
        if (on_ack(seq) && self->state.exhausted)
          source_pump(self);
      },
      [self](commit_atom) {
        self->state.commit_armed = false;
        if (!self->state.finished)
          source_commit(self);
      },
      [self](resume_atom) {
        self->state.resume_pending = false;
        if (!self->state.finished)
          source_pump(self);
      },
      [self](stream_error_atom, caf::error& err) {
        source_commit(self); // what was consumed before the failure
        fail_stage(self, err);
      },
  };
}

} // namespace coactor::actors::detail
