// Internal: what every stage actor shares — the pieces (generator, processor,
// sink function, stage context, errors) and what sources, flow stages and
// sinks do alike (fail, finish, open, take demand, end, check batches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
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

// -- shared pieces ------------------------------------------------------------

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
  /// A paced processor (a rate limit) returns how many items it still holds
  /// back after a flush: they count against the stage's capacity, the flush
  /// timer repeats every max_delay while it holds any, and the stage ends
  /// only after them. May be empty (nothing paced).
  std::function<size_t()> pending;
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

/// Consumes one batch; an error fails the stage (or restarts it). On a
/// failure `items` holds what it did not consume: a restarted consumer is
/// handed that.
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

/// A stage's restarts under its `restart_policy`. Owned by the stage actor.
class restarter {
 public:
  restarter() = default;
  explicit restarter(restart_policy p) : policy_(p) {}

  [[nodiscard]] bool enabled() const noexcept { return policy_.enabled(); }

  /// Takes the failure `err` of the stage's function: returns the error that
  /// ends the stage (`err` itself when the stage does not restart,
  /// `errc::restart_limit` when a restart would exceed the intensity), or
  /// none when the stage restarts, which it logs and counts in `probe`.
  caf::error restart(caf::local_actor* self, stage_probe& probe,
                     const caf::error& err);

 private:
  restart_policy policy_;
  std::deque<int64_t> recent_; // times of the restarts within the period
};

/// Runs `attempt()` (one batch through the stage's function) until it
/// succeeds, with `reset()` (a fresh function) between the attempts while
/// `r` allows restarts. Returns the error that ends the stage, or none.
template <class Attempt, class Reset>
caf::error with_restarts(caf::local_actor* self, stage_probe& probe,
                         restarter& r, Attempt&& attempt, Reset&& reset) {
  auto err = attempt();
  while (err) {
    if (auto fatal = r.restart(self, probe, err))
      return fatal;
    err = reset();
    if (!err)
      err = attempt();
  }
  return {};
}

// -- what every stage actor does alike ----------------------------------------
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
  if constexpr (has_upstreams<State>) {
    st.in.send_acks(self); // what was processed still counts
    st.in.fail(self, err);
  }
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

/// Tells every downstream to acknowledge the batches it processes from now
/// on (`(open, name, seq)` on an open path, before any batch).
template <class State>
void send_acked_opens(caf::stateful_actor<State>* self) {
  auto& st = self->state;
  for (auto& p : st.out.paths())
    self->send(p.dst.hdl, open_atom::value, st.ctx.probe->name, p.seq);
}

/// Takes a downstream's acknowledgement of every batch up to `seq`; returns
/// whether the stage goes on (an acknowledgement of a batch never sent fails
/// it).
template <class State>
bool take_ack(caf::stateful_actor<State>* self, uint64_t seq) {
  auto& st = self->state;
  auto closing = false;
  if constexpr (requires { st.awaiting_confirm; })
    closing = st.awaiting_confirm;
  if (st.finished && !closing)
    return false;
  auto i = st.out.index_of(self->current_sender()->address());
  if (i < 0 || !st.out.ack(static_cast<size_t>(i), seq)) {
    fail_stage(self,
               stage_error(*st.ctx.probe, errc::protocol_violation,
                           "acknowledgement of batch " + std::to_string(seq)
                               + " that was never sent"));
    return false;
  }
  return !st.finished;
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

/// Registers the sender of an at-least-once `open` (batches from
/// `first_seq`, acknowledged once processed) or switches its open path to
/// acknowledgements; a switch after batches arrived fails the stage.
/// Returns false when the stage failed or finished.
template <class State>
bool open_upstream_acked(caf::stateful_actor<State>* self, std::string& name,
                         uint64_t first_seq, size_t held) {
  auto& st = self->state;
  auto hdl = caf::actor_cast<caf::actor>(self->current_sender());
  if (st.finished)
    return false;
  auto known = st.in.find(hdl.address()) != nullptr;
  if (!st.in.open_acked(hdl, std::move(name), first_seq)) {
    fail_stage(self, stage_error(*st.ctx.probe, errc::protocol_violation,
                                 "at-least-once open after batches"));
    return false;
  }
  if (!known) {
    self->monitor(hdl);
    st.in.grant(self, held);
  }
  return true;
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

} // namespace coactor::actors::detail
