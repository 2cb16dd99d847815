// Internal: the three actor shapes every pipeline piece is made of — a source
// (no upstream), a flow stage (inbound → processor → outbound) and a sink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "coactor/actors/detail/inbound.hpp"
#include "coactor/actors/detail/outbound.hpp"
#include "coactor/actors/detail/probe.hpp"
#include "coactor/actors/policy.hpp"
#include "coactor/actors/protocol.hpp"
#include "coactor/error.hpp"

namespace coactor::actors::detail {

// -- shared pieces
// -------------------------------------------------------------

/// Fills `out` with up to `max` items; returns whether more may follow, or an
/// error that fails the stage.
template <class T>
using generator
    = std::function<caf::expected<bool>(std::vector<T>& out, size_t max)>;

/// Turns a batch of inputs into outputs (`in` may be moved from).
template <class In, class Out>
struct processor {
  std::function<caf::error(std::vector<In>& in, std::vector<Out>& out)>
      on_batch;
  /// Emits what the processor holds back (batch stage), at max_delay and at
  /// the end of the stream. May be empty.
  std::function<void(std::vector<Out>& out)> flush;
  caf::timespan max_delay{0};
};

/// A processor that passes batches on as they are (buffers, inlets,
/// outlets).
template <class T>
processor<T, T> pass_through() {
  processor<T, T> p;
  p.on_batch = [](std::vector<T>& in, std::vector<T>& out) {
    out.swap(in);
    return caf::error{};
  };
  return p;
}

/// Consumes one batch; an error fails the stage.
template <class T>
using sink_fn = std::function<caf::error(std::vector<T>& items)>;

/// What every stage actor knows about its place in the pipeline.
struct stage_context {
  uint32_t index = 0;
  stage_probe_ptr probe;
  caf::actor controller;
};

/// Returns an error of `x` naming the stage.
caf::error stage_error(const stage_probe& probe, errc x,
                       const std::string& what);

/// Returns the error for a caught exception in the stage.
caf::error exception_error(const stage_probe& probe, std::exception_ptr ep);

/// Returns the error for a peer (stage `peer`, the `role` of `self`'s stage)
/// that went down before the stream ended, naming its node when remote.
caf::error peer_down_error(caf::event_based_actor* self,
                           const stage_probe& probe, const char* role,
                           const std::string& peer, const caf::down_msg& dm);

/// Reports failure to the controller and ends `self` with `err`.
void report_failure(caf::event_based_actor* self, const stage_context& ctx,
                    const caf::error& err);

/// Reports completion to the controller and ends `self` normally.
void report_done(caf::event_based_actor* self, const stage_context& ctx);

/// Runs `f`; an error it returns or an exception it throws becomes a
/// `stage_failed` error naming the stage.
template <class F>
caf::error guarded(const stage_probe& probe, F&& f) {
  try {
    if (auto err = f())
      return stage_error(probe, errc::stage_failed, describe(err));
    return {};
  } catch (...) {
    return exception_error(probe, std::current_exception());
  }
}

// -- what every stage actor does alike
// ------------------------------------------
//
// These work on a `caf::stateful_actor<State>` whose state has `ctx`
// (stage_context) and `finished` (true once the stage failed or finished),
// plus `out` (outbound) when it has downstreams and `in` (inbound) when it
// has upstreams.

template <class State>
inline constexpr bool has_downstreams = requires(State& st) {
  st.out.credit();
};

template <class State>
inline constexpr bool has_upstreams = requires(State& st) {
  st.in.all_ended();
};

/// Fails the stage once: passes `err` to the downstreams and upstreams,
/// reports it to the controller and ends `self` with it.
template <class State>
void fail_stage(caf::stateful_actor<State>* self, const caf::error& err) {
  auto& st = self->state;
  if (st.finished)
    return;
  st.finished = true;
  if constexpr (has_downstreams<State>)
    st.out.fail(self, err);
  if constexpr (has_upstreams<State>)
    st.in.fail(self, err);
  report_failure(self, st.ctx, err);
}

/// Finishes the stage once its work is drained: closes the downstreams and
/// reports completion to the controller; a stage that must hear its
/// downstream confirm the end (`confirm_end`, outlets) reports it then.
template <class State>
void finish_stage(caf::stateful_actor<State>* self) {
  auto& st = self->state;
  st.finished = true;
  if constexpr (has_downstreams<State>)
    st.out.close(self);
  if constexpr (requires { st.confirm_end; }) {
    if (st.confirm_end) {
      st.awaiting_confirm = true;
      return;
    }
  }
  report_done(self, st.ctx);
}

/// Runs `make` and stores its result in `x`; an error or exception fails the
/// stage (returns false then).
template <class State, class T, class Make>
bool make_guarded(caf::stateful_actor<State>* self, T& x, Make& make) {
  auto err = guarded(*self->state.ctx.probe, [&]() -> caf::error {
    x = make();
    return {};
  });
  if (err) {
    fail_stage(self, err);
    return false;
  }
  return true;
}

/// Monitors every downstream and sends it `open` with the stage's name.
template <class State>
void open_downstreams(caf::stateful_actor<State>* self,
                      const std::vector<peer>& downs) {
  for (auto& d : downs) {
    self->monitor(d.hdl);
    self->send(d.hdl, open_atom::value, self->state.ctx.probe->name);
  }
}

/// Handles a down message: a downstream going down, or an upstream going
/// down before its stream ended, fails the stage.
template <class State>
void on_peer_down(caf::stateful_actor<State>* self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.finished)
    return;
  if constexpr (has_downstreams<State>) {
    if (auto i = st.out.index_of(dm.source); i >= 0) {
      fail_stage(
          self,
          peer_down_error(self, *st.ctx.probe, "downstream",
                          st.out.paths()[static_cast<size_t>(i)].dst.name, dm));
      return;
    }
  }
  if constexpr (has_upstreams<State>) {
    if (auto* p = st.in.find(dm.source); p != nullptr && !p->ended)
      fail_stage(self,
                 peer_down_error(self, *st.ctx.probe, "upstream", p->name, dm));
  }
}

/// Installs `on_peer_down` as the down handler.
template <class State>
void fail_on_peer_down(caf::stateful_actor<State>* self) {
  self->set_down_handler([self](caf::down_msg& dm) { on_peer_down(self, dm); });
}

/// Takes `demand` from the sender; returns false when the stage has finished
/// or the demand is bad (which fails the stage).
template <class State>
bool take_demand(caf::stateful_actor<State>* self, int64_t n) {
  auto& st = self->state;
  if (st.finished)
    return false;
  if (n <= 0 || !st.out.grant(self->current_sender()->address(), n)) {
    fail_stage(self, stage_error(*st.ctx.probe, errc::protocol_violation,
                                 "bad demand"));
    return false;
  }
  return true;
}

/// Registers the sender of `open` as an upstream, monitors it and grants it
/// credit (`held`: items the stage still holds); a duplicate fails the stage.
template <class State>
void open_upstream(caf::stateful_actor<State>* self, std::string& name,
                   size_t held) {
  auto& st = self->state;
  auto hdl = caf::actor_cast<caf::actor>(self->current_sender());
  if (st.finished)
    return;
  if (!st.in.open(hdl, std::move(name))) {
    fail_stage(self, stage_error(*st.ctx.probe, errc::protocol_violation,
                                 "duplicate open"));
    return;
  }
  self->monitor(hdl);
  st.in.grant(self, held);
}

/// Marks the sender's stream as ended; returns false when the stage has
/// already finished.
template <class State>
bool end_upstream(caf::stateful_actor<State>* self) {
  auto& st = self->state;
  if (st.finished)
    return false;
  if (auto* p = st.in.find(self->current_sender()->address()))
    st.in.end(*p);
  return true;
}

/// Returns the sender's upstream path for a batch; an unknown or ended
/// upstream fails the stage (returns null then).
template <class State>
inbound::path* batch_upstream(caf::stateful_actor<State>* self) {
  auto& st = self->state;
  auto* p = st.in.find(self->current_sender()->address());
  if (p == nullptr || p->ended) {
    fail_stage(self, stage_error(*st.ctx.probe, errc::protocol_violation,
                                 "batch from an unknown or ended upstream"));
    return nullptr;
  }
  return p;
}

// -- source
// --------------------------------------------------------------------

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

// -- flow stage
// ----------------------------------------------------------------

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
};

template <class In, class Out>
struct flow_state {
  static inline const char* name = "coactor.stage";
  stage_context ctx;
  inbound in{1, 1};
  outbound<Out> out{{}, {}, 1};
  processor<In, Out> proc;
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

template <class In, class Out>
void flow_pump(caf::stateful_actor<flow_state<In, Out>>* self) {
  auto& st = self->state;
  auto& probe = *st.ctx.probe;
  probe.add_out(st.out.emit(self));
  if (st.in.all_ended()) {
    if (!st.flushed_at_end) {
      st.flushed_at_end = true;
      if (st.proc.flush) {
        std::vector<Out> tail;
        st.proc.flush(tail);
        st.out.push(std::move(tail), now_ns());
        probe.add_out(st.out.emit(self));
      }
    }
    probe.set_buffered(st.out.buffered());
    if (st.out.buffered() == 0)
      finish_stage(self);
    return;
  }
  probe.set_buffered(st.out.buffered());
  st.in.grant(self, st.out.buffered());
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
    auto held = st.out.buffered();
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
  if (auto err
      = guarded(probe, [&] { return st.proc.on_batch(b.items, ys); })) {
    fail_stage(self, err);
    return;
  }
  st.out.push(std::move(ys), b.emitted);
  if (st.proc.flush && st.proc.max_delay.count() > 0 && !st.timer_armed) {
    st.timer_armed = true;
    self->delayed_send(self, st.proc.max_delay, resume_atom::value,
                       ++st.timer_gen);
  }
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
  if (!make_guarded(self, st.proc, args.make))
    return {};
  open_downstreams(self, args.downs);
  fail_on_peer_down(self);
  return {
      [self](open_atom, std::string& name) {
        open_upstream(self, name, self->state.out.buffered());
      },
      [self](batch_message<In>& b) {
        if (!self->state.finished)
          flow_on_batch(self, b);
      },
      [self](demand_atom, int64_t n) {
        if (take_demand(self, n))
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
        std::vector<Out> tail;
        st.proc.flush(tail);
        st.out.push(std::move(tail), now_ns());
        flow_pump(self);
      },
      [self](stream_error_atom, caf::error& err) { fail_stage(self, err); },
  };
}

// -- sink
// ----------------------------------------------------------------------

template <class T>
struct sink_args {
  stage_context ctx;
  size_t upstreams = 1;
  size_t window = 2048;
  std::function<sink_fn<T>()> make;
};

template <class T>
struct sink_state {
  static inline const char* name = "coactor.consumer";
  stage_context ctx;
  inbound in{1, 1};
  sink_fn<T> fn;
  bool finished = false;
};

template <class T>
caf::behavior sink_actor(caf::stateful_actor<sink_state<T>>* self,
                         sink_args<T> args) {
  auto& st = self->state;
  st.ctx = std::move(args.ctx);
  st.in = inbound{args.upstreams, std::max<size_t>(1, args.window)};
  if (!make_guarded(self, st.fn, args.make))
    return {};
  fail_on_peer_down(self);
  return {
      [self](open_atom, std::string& name) { open_upstream(self, name, 0); },
      [self](batch_message<T>& b) {
        auto& st = self->state;
        auto& probe = *st.ctx.probe;
        if (st.finished)
          return;
        auto* p = batch_upstream(self);
        if (p == nullptr)
          return;
        auto over = st.in.arrived(*p, b.seq, b.items.size());
        if (!over || *over > 0) {
          fail_stage(self, stage_error(probe, errc::protocol_violation,
                                       over ? "upstream '" + p->name
                                                  + "' sent beyond its credit"
                                            : describe(over.error())));
          return;
        }
        auto n = b.items.size();
        probe.add_in(n);
        if (auto err = guarded(probe, [&] { return st.fn(b.items); })) {
          fail_stage(self, err);
          return;
        }
        probe.add_out(n);
        if (n > 0)
          probe.latency.record(now_ns() - b.emitted, n);
        st.in.grant(self, 0);
      },
      [self](end_atom) {
        if (end_upstream(self) && self->state.in.all_ended())
          finish_stage(self);
      },
      [self](stream_error_atom, caf::error& err) { fail_stage(self, err); },
  };
}

} // namespace coactor::actors::detail
