// Internal: the flow stage actor (inbound → processor → outbound), with its
// overflow policies and max_delay flush timer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "coactor/actors/detail/inbound.hpp"
#include "coactor/actors/detail/outbound.hpp"
#include "coactor/actors/detail/stage_common.hpp"
#include "coactor/actors/policy.hpp"
#include "coactor/actors/protocol.hpp"

namespace coactor::actors::detail {

template <class In, class Out>
struct flow_args {
  stage_context ctx;
  size_t upstreams = 1;
  size_t capacity = 1024;
  overflow_policy policy = overflow_policy::backpressure;
  std::vector<peer> downs;
  routing<Out> route;
  size_t max_batch = 1024;
  std::function<processor<In, Out>()> make;
  restart_policy restarts;
};

template <class In, class Out>
struct flow_state {
  static inline const char* name = "coactor.stage";
  stage_context ctx;
  inbound in{1, 1};
  outbound<Out> out{{}, {}, 1};
  processor<In, Out> proc;
  std::function<processor<In, Out>()> make; // a fresh proc, for restarts
  restarter restarts;
  size_t capacity = 1;
  overflow_policy policy = overflow_policy::backpressure;
  uint64_t timer_gen = 0;
  bool timer_armed = false;
  bool flushed_at_end = false;
  bool finished = false;
  /// Outlets: report done only when the downstream confirmed the end.
  bool confirm_end = false;
  bool awaiting_confirm = false;
};

/// Returns the items a paced processor still holds back (0 for others).
template <class In, class Out>
size_t flow_pending(const flow_state<In, Out>& st) {
  return st.proc.pending ? st.proc.pending() : 0;
}

/// Arms the flush timer (once: max_delay from now).
template <class In, class Out>
void flow_arm_timer(caf::stateful_actor<flow_state<In, Out>>* self) {
  auto& st = self->state;
  if (st.timer_armed)
    return;
  st.timer_armed = true;
  self->delayed_send(self, st.proc.max_delay, resume_atom::value,
                     ++st.timer_gen);
}

/// Pushes what the processor holds back (a partial batch) downstream.
template <class In, class Out>
void flow_flush(caf::stateful_actor<flow_state<In, Out>>* self) {
  auto& st = self->state;
  std::vector<Out> tail;
  st.proc.flush(tail);
  st.out.push(std::move(tail), now_ns());
  if (flow_pending(st) == 0) // else its outputs are still to come
    st.in.resolve(st.out.pushed());
}

template <class In, class Out>
void flow_pump(caf::stateful_actor<flow_state<In, Out>>* self) {
  auto& st = self->state;
  auto& probe = *st.ctx.probe;
  probe.add_out(st.out.emit(self));
  if (st.in.any_acked())
    st.in.settle(st.out.settled());
  if (st.out.acked())
    probe.set_redelivered(st.out.redelivered());
  if (st.in.all_ended()) {
    if (!st.flushed_at_end) {
      st.flushed_at_end = true;
      if (st.proc.flush) {
        flow_flush(self);
        probe.add_out(st.out.emit(self));
        st.in.settle(st.out.settled());
      }
    }
    if (flow_pending(st) > 0) { // paced: the timer releases the rest
      flow_arm_timer(self);
      probe.set_buffered(st.out.buffered());
      return;
    }
    st.in.send_acks(self); // no grant follows
    probe.set_buffered(st.out.buffered());
    // At-least-once: the end follows the last acknowledgement.
    if (st.out.held() == 0)
      finish_stage(self);
    return;
  }
  probe.set_buffered(st.out.buffered());
  st.in.grant(self, st.out.held() + flow_pending(st));
}

/// Makes the stage's downstream paths at-least-once (an upstream asked for
/// acknowledgements, or an outlet was built so): tells every downstream to
/// acknowledge. Fails the stage when it cannot keep that promise.
template <class In, class Out>
bool flow_require_acks(caf::stateful_actor<flow_state<In, Out>>* self) {
  auto& st = self->state;
  if (st.out.acked())
    return true;
  auto& probe = *st.ctx.probe;
  const char* why = nullptr;
  if (st.policy == overflow_policy::drop_oldest)
    why = "its overflow policy drop_oldest discards items already accepted";
  else if (st.proc.flush && st.proc.max_delay.count() <= 0)
    why = "it holds partial batches without a max_delay";
  else if (!st.out.require_acks())
    why = "key partitioning over several copies sends out of order";
  if (why != nullptr) {
    fail_stage(self,
               stage_error(probe, errc::invalid_argument,
                           std::string{"at-least-once delivery: "} + why));
    return false;
  }
  send_acked_opens(self);
  return true;
}

template <class In, class Out>
void flow_on_batch(caf::stateful_actor<flow_state<In, Out>>* self,
                   batch_message<In>& b) {
  auto& st = self->state;
  auto& probe = *st.ctx.probe;
  auto* p = batch_upstream(self);
  if (p == nullptr)
    return;
  auto over = st.in.arrived(*p, b.seq, b.items.size());
  if (!over) {
    fail_stage(self, stage_error(probe, errc::protocol_violation,
                                 describe(over.error())));
    return;
  }
  probe.add_in(b.items.size());
  if (st.policy != overflow_policy::backpressure) {
    // Physical room decides: only push sources can overfill a buffer.
    auto held = st.out.buffered() + flow_pending(st);
    auto n = b.items.size();
    *over = held + n > st.capacity ? held + n - st.capacity : 0;
  }
  if (*over > 0) {
    switch (st.policy) {
      case overflow_policy::backpressure:
        fail_stage(self, stage_error(probe, errc::protocol_violation,
                                     "upstream '" + p->name + "' sent "
                                         + std::to_string(*over)
                                         + " items beyond its credit"));
        return;
      case overflow_policy::fail:
        fail_stage(self, stage_error(probe, errc::buffer_overflow,
                                     "capacity " + std::to_string(st.capacity)
                                         + " exceeded by "
                                         + std::to_string(*over) + " items"));
        return;
      case overflow_policy::drop_newest:
        b.items.resize(b.items.size() - *over);
        probe.add_dropped(*over);
        break;
      case overflow_policy::drop_oldest: {
        auto k = st.out.drop_oldest(*over);
        if (k < *over) { // the batch alone exceeds the capacity
          b.items.erase(b.items.begin(),
                        b.items.begin() + static_cast<ptrdiff_t>(*over - k));
        }
        probe.add_dropped(*over);
        break;
      }
    }
  }
  std::vector<Out> ys;
  auto attempt = [&] {
    if (!st.restarts.enabled())
      return guarded(probe, [&] { return st.proc.on_batch(b.items, ys); });
    // The function may move from its input: a retry needs the batch whole.
    auto xs = b.items;
    ys.clear();
    return guarded(probe, [&] { return st.proc.on_batch(xs, ys); });
  };
  auto restart = [&] {
    if (st.proc.flush) // what the old function holds back is not lost
      flow_flush(self);
    return guarded(probe, [&] {
      st.proc = st.make();
      return caf::error{};
    });
  };
  if (auto err = with_restarts(self, probe, st.restarts, attempt, restart)) {
    fail_stage(self, err);
    return;
  }
  st.out.push(std::move(ys), b.emitted);
  st.in.processed(*p, b.seq,
                  st.proc.flush ? inbound::held_back : st.out.pushed());
  if (st.proc.flush && st.proc.max_delay.count() > 0)
    flow_arm_timer(self);
  flow_pump(self);
}

template <class In, class Out>
caf::behavior flow_actor(caf::stateful_actor<flow_state<In, Out>>* self,
                         flow_args<In, Out> args) {
  auto& st = self->state;
  st.ctx = std::move(args.ctx);
  st.capacity = std::max<size_t>(1, args.capacity);
  st.policy = args.policy;
  st.in = inbound{args.upstreams, st.capacity};
  st.out = outbound<Out>{args.downs, std::move(args.route), args.max_batch};
  st.make = std::move(args.make);
  st.restarts = restarter{args.restarts};
  if (!make_guarded(self, st.proc, st.make))
    return {};
  open_downstreams(self, args.downs);
  fail_on_peer_down(self);
  return {
      [self](open_atom, std::string& name) {
        open_upstream(self, name, self->state.out.held());
      },
      [self](open_atom, std::string& name, uint64_t first_seq) {
        if (open_upstream_acked(self, name, first_seq, self->state.out.held()))
          flow_require_acks(self);
      },
      [self](ack_atom, uint64_t seq) {
        if (take_ack(self, seq))
          flow_pump(self);
      },
      [self](ack_flush_atom) { self->state.in.flush_acks(self); },
      [self](batch_message<In>& b) {
        if (!self->state.finished)
          flow_on_batch(self, b);
      },
      [self](demand_atom, int64_t n) {
        if (take_demand(self, n))
          flow_pump(self);
      },
      [self](demand_atom, int64_t n, uint64_t acked) {
        if (take_demand(self, n) && take_ack(self, acked))
          flow_pump(self);
      },
      [self](end_atom) {
        if (end_upstream(self))
          flow_pump(self);
      },
      [self](resume_atom, uint64_t gen) {
        auto& st = self->state;
        if (st.finished || gen != st.timer_gen)
          return;
        st.timer_armed = false;
        flow_flush(self);
        if (flow_pending(st) > 0)
          flow_arm_timer(self);
        flow_pump(self);
      },
      [self](stream_error_atom, caf::error& err) { fail_stage(self, err); },
  };
}

} // namespace coactor::actors::detail
