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

template <class T>
struct source_args {
  stage_context ctx;
  std::vector<peer> downs;
  routing<T> route;
  size_t max_batch = 1024;
  bool push = false;
  caf::timespan period{0};
  std::function<generator<T>()> make;
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
};

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
  if (st.exhausted && st.out.buffered() == 0) {
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
  if (!make_guarded(self, st.gen, args.make))
    return {};
  open_downstreams(self, args.downs);
  fail_on_peer_down(self);
  if (st.push) {
    st.resume_pending = true;
    self->send(self, resume_atom::value);
  }
  return {
      [self](demand_atom, int64_t n) {
        auto& st = self->state;
        if (!take_demand(self, n))
          return;
        if (!st.push && !st.resume_pending)
          source_pump(self);
        else if (st.exhausted)
          source_pump(self);
      },
      [self](resume_atom) {
        self->state.resume_pending = false;
        if (!self->state.finished)
          source_pump(self);
      },
      [self](stream_error_atom, caf::error& err) { fail_stage(self, err); },
  };
}

} // namespace coactor::actors::detail
