// coactor::actors remote endpoints: pipelines joined across nodes. An inlet
// starts a pipeline with items sent from other nodes (published by name); an
// outlet ends a pipeline by sending its items to an inlet on another node.
// Between them runs the same credit protocol as between local stages.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/message_view.hpp>
#include <caf/rtti_pair.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>

#include "coactor/actors/detail/spec.hpp"
#include "coactor/actors/detail/stage_actors.hpp"
#include "coactor/actors/pipeline.hpp"
#include "coactor/actors/protocol.hpp"
#include "coactor/error.hpp"
#include "coactor/message_types.hpp"
#include "coactor/remote.hpp"

namespace coactor::actors {

/// Registers a stream of `T` with a node's message types under `name` (the
/// same name on every node), for pipelines that cross nodes:
/// `register_item_type<order>(opts.types, "shop::order")`. `T` itself must be
/// serializable (built-in, or an `inspect` overload).
template <class T>
void register_item_type(message_types& types, std::string name) {
  types.add_registration(
      [name = std::move(name)](caf::actor_system_config& cfg) {
        register_item_type<T>(cfg, name);
      });
}

// -- inlet
// ---------------------------------------------------------------------

/// Options of an inlet.
struct inlet_options {
  /// How many outlets feed it (on one or several nodes). The stream ends
  /// when every one of them ended; until then the inlet waits.
  size_t upstreams = 1;
  /// Items it holds plus the credit it grants, split among its upstreams:
  /// a window that covers the network's round trip keeps the link busy.
  size_t capacity = 16384;
  /// The largest batch it forwards into its pipeline.
  size_t max_batch = 1024;
  /// When non-zero, the inlet fails (`errc::timeout`) if not all its
  /// upstreams opened their path within this time; zero waits forever.
  caf::timespan open_timeout{0};
  /// When non-zero, an at-least-once upstream (an outlet built with
  /// `at_least_once`) that is lost before its end, because its node died or
  /// the link dropped, does not fail the inlet: for this long, the next
  /// at-least-once upstream to open a path (the same outlet reconnecting,
  /// or the outlet of a restarted node) takes its place, and the inlet's
  /// pipeline goes on with what it holds. Its batches not yet acknowledged
  /// come again from the successor. Past the time the inlet fails
  /// (`errc::stage_failed` naming the upstream, its node and the wait).
  /// Zero: a lost upstream fails the inlet at once. At-most-once upstreams
  /// always fail it (their items in flight are gone).
  caf::timespan rejoin{0};
};

/// Where an at-least-once outlet finds its inlet again after the inlet's
/// node died (it restarted, or the link came back).
struct reconnect_options {
  /// The inlet's node; an empty host means no reconnection (the outlet
  /// fails when the inlet dies).
  std::string host;
  uint16_t port = 0;
  /// How long it keeps trying before the pipeline fails
  /// (`errc::connection_failed` naming the inlet and its address).
  caf::timespan timeout{std::chrono::seconds{30}};
  /// The pause between two tries.
  caf::timespan retry{std::chrono::milliseconds{100}};
};

namespace detail {

using open_check_atom = caf::atom_constant<caf::atom("cx_ochk")>;
using rejoin_check_atom = caf::atom_constant<caf::atom("cx_rjchk")>;

/// An inlet's at-least-once upstreams lost before their end, oldest first,
/// each waiting until `deadline` for a successor.
struct inlet_rejoin {
  struct lost {
    std::string why;
    caf::timestamp deadline;
  };
  caf::timespan wait{0};
  std::deque<lost> waiting;
};

/// Installs the down handler of an inlet with `rj->wait` > 0: a lost
/// at-least-once upstream's path is dropped and waits for a successor.
template <class T>
void inlet_await_rejoin(caf::stateful_actor<flow_state<T, T>>* self,
                        std::shared_ptr<inlet_rejoin> rj) {
  self->set_down_handler([self, rj](caf::down_msg& dm) {
    auto& st = self->state;
    auto* p = st.in.find(dm.source);
    if (st.finished || p == nullptr || p->ended || !p->acks) {
      on_peer_down(self, dm);
      return;
    }
    auto err = peer_down_error(self, *st.ctx.probe, "upstream", p->name, dm);
    st.in.drop(*p);
    rj->waiting.push_back({context_of(err), caf::make_timestamp() + rj->wait});
    self->delayed_send(self, rj->wait, rejoin_check_atom::value);
    flow_pump(self);
  });
}

/// Returns `err` (coactor's, with a context) with `what` prefixed to its
/// context: "inlet 'x': name taken on node 'b'".
inline caf::error prefixed(const std::string& what, const caf::error& err) {
  if (err.category() == error_category)
    return make_error(static_cast<errc>(err.code()),
                      what + ": " + context_of(err));
  return make_error(errc::stage_failed, what + ": " + describe(err));
}

/// Fails the stage on a message it does not understand, e.g. a batch of
/// another item type from a remote outlet: never a silent drop.
template <class State>
void fail_on_unexpected(caf::stateful_actor<State>* self) {
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view& x)
                                -> caf::result<caf::message> {
    auto& probe = *self->state.ctx.probe;
    auto& sender = self->current_sender();
    auto from = sender ? remote::describe_node(self->system(), sender->node())
                       : std::string{"an anonymous sender"};
    fail_stage(self,
               stage_error(probe, errc::protocol_violation,
                           "unexpected message " + to_string(x.content())
                               + " from " + from + " (another item type?)"));
    return caf::sec::unexpected_message;
  });
}

/// The inlet: a pass-through flow stage whose upstreams are outlets on other
/// nodes. It stamps each arriving batch with its arrival time, so latencies
/// in its pipeline never mix two machines' clocks.
template <class T>
caf::behavior inlet_actor(caf::stateful_actor<flow_state<T, T>>* self,
                          flow_args<T, T> args, caf::timespan open_timeout,
                          caf::timespan rejoin) {
  auto upstreams = args.upstreams;
  auto flow = flow_actor(self, std::move(args));
  if (!flow)
    return flow;
  fail_on_unexpected(self);
  auto rj = std::make_shared<inlet_rejoin>();
  rj->wait = rejoin;
  if (rejoin.count() > 0)
    inlet_await_rejoin(self, rj);
  if (open_timeout.count() > 0)
    self->delayed_send(self, open_timeout, open_check_atom::value);
  caf::message_handler own{
      [self](batch_message<T>& b) {
        b.emitted = now_ns();
        if (!self->state.finished)
          flow_on_batch(self, b);
      },
      [self](end_atom) {
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (!end_upstream(self))
          return;
        // Confirms to the outlet that every batch before its end arrived.
        self->send(sender, end_atom::value);
        flow_pump(self);
      },
      [self, rj](open_atom, std::string& name, uint64_t first_seq) {
        auto& st = self->state;
        auto* p = st.in.find(self->current_sender()->address());
        // A path turning at-least-once (a new one, or an open one switching
        // to acknowledgements) succeeds the oldest lost upstream.
        if ((p == nullptr || !p->acks) && !st.finished && !rj->waiting.empty())
          rj->waiting.pop_front();
        if (p != nullptr && p->acks && p->received && !p->ended
            && rj->wait.count() > 0 && !st.finished) {
          // The outlet reconnected before its loss was noticed here.
          auto hdl = caf::actor_cast<caf::actor>(self->current_sender());
          st.in.reopen(*p, hdl, first_seq);
          self->monitor(hdl);
          st.in.grant(self, st.out.held());
          return;
        }
        if (open_upstream_acked(self, name, first_seq, st.out.held()))
          flow_require_acks(self);
      },
      [self, rj](rejoin_check_atom) {
        auto& st = self->state;
        if (st.finished || rj->waiting.empty())
          return;
        auto left = rj->waiting.front().deadline - caf::make_timestamp();
        if (left.count() > 0) { // a later loss, or a timer a bit early
          self->delayed_send(self, left, rejoin_check_atom::value);
          return;
        }
        auto ms
            = std::chrono::duration_cast<std::chrono::milliseconds>(rj->wait);
        fail_stage(self, make_error(errc::stage_failed,
                                    rj->waiting.front().why
                                        + "; no successor opened its path "
                                          "within "
                                        + std::to_string(ms.count()) + " ms"));
      },
      [self, upstreams, open_timeout](open_check_atom) {
        auto& st = self->state;
        auto opened = st.in.paths().size();
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
            open_timeout);
        if (st.finished || opened >= upstreams)
          return;
        fail_stage(self, stage_error(*st.ctx.probe, errc::timeout,
                                     std::to_string(opened) + " of "
                                         + std::to_string(upstreams)
                                         + " upstreams opened within "
                                         + std::to_string(ms.count()) + " ms"));
      },
  };
  return own.or_else(flow);
}

using reconnect_atom = caf::atom_constant<caf::atom("cx_recon")>;

/// An at-least-once outlet's search for its inlet after the inlet's node
/// died: connect, look the name up, retry until the deadline.
struct outlet_reconnect {
  reconnect_options options;
  std::string inlet;
  bool active = false;
  caf::timestamp deadline;
  std::string last_error;
};

/// Looks for the inlet again; on success redelivers to it, on failure
/// retries after `retry` or, past the deadline, calls `give_up(err)`.
template <class T, class GiveUp>
void outlet_try_reconnect(caf::stateful_actor<flow_state<T, T>>* self,
                          std::shared_ptr<outlet_reconnect> r, GiveUp give_up) {
  auto& o = r->options;
  auto retry = [self, r, give_up](const caf::error& err) {
    r->last_error = describe(err);
    if (caf::make_timestamp() < r->deadline) {
      self->delayed_send(self, r->options.retry, reconnect_atom::value);
      return;
    }
    r->active = false;
    auto s
        = std::chrono::duration_cast<std::chrono::seconds>(r->options.timeout);
    give_up(stage_error(
        *self->state.ctx.probe, errc::connection_failed,
        "inlet '" + r->inlet + "' at " + r->options.host + ":"
            + std::to_string(r->options.port) + " did not come back within "
            + std::to_string(s.count()) + " s (last: " + r->last_error + ")"));
  };
  remote::connect_options copts;
  copts.attempt_timeout = std::chrono::milliseconds{1000};
  remote::async_connect(
      self, o.host, o.port, copts,
      [self, r, retry](caf::expected<remote::peer> p) {
        if (!p) {
          retry(p.error());
          return;
        }
        remote::async_lookup(
            self, *p, r->inlet,
            [self, r, retry](caf::expected<caf::actor> hdl) {
              auto& st = self->state;
              if (!hdl) {
                retry(hdl.error());
                return;
              }
              r->active = false;
              self->monitor(*hdl);
              auto first = st.out.replace(0, {*hdl, r->inlet});
              self->send(*hdl, open_atom::value, st.ctx.probe->name, first);
              if (st.awaiting_confirm) // everything was acknowledged
                self->send(*hdl, end_atom::value);
              else
                flow_pump(self);
            },
            caf::timespan{std::chrono::seconds{2}});
      });
}

/// The outlet: a pass-through flow stage whose downstream is an inlet on
/// another node. It completes only when the inlet confirmed its end of
/// stream, so a run that reports success handed every item over. At least
/// once (`mode`), it keeps what it sent until the inlet's pipeline consumed
/// it, and when `reconnect` names the inlet's node, it waits for the inlet
/// to come back after its node died and redelivers.
template <class T>
caf::behavior outlet_actor(caf::stateful_actor<flow_state<T, T>>* self,
                           flow_args<T, T> args, delivery mode,
                           reconnect_options reconnect) {
  auto inlet_name = args.downs.empty() ? std::string{} : args.downs[0].name;
  auto flow = flow_actor(self, std::move(args));
  if (!flow)
    return flow;
  if (mode == delivery::at_least_once && !flow_require_acks(self))
    return {};
  self->state.confirm_end = true;
  // Once closed, the stage counts as finished for the shared handlers: these
  // catch what can still go wrong before the inlet confirms.
  auto fail_closed = [self](const caf::error& err) {
    self->state.awaiting_confirm = false;
    report_failure(self, self->state.ctx, err);
  };
  auto r = std::make_shared<outlet_reconnect>();
  r->options = std::move(reconnect);
  r->inlet = std::move(inlet_name);
  auto give_up = [self, fail_closed](const caf::error& err) {
    if (self->state.awaiting_confirm)
      fail_closed(err);
    else
      fail_stage(self, err);
  };
  self->set_down_handler([self, fail_closed, r, give_up](caf::down_msg& dm) {
    auto& st = self->state;
    auto downstream = st.out.index_of(dm.source) >= 0;
    if (downstream && st.out.acked() && !r->options.host.empty()
        && (!st.finished || st.awaiting_confirm)) {
      // The inlet's node died: what it did not acknowledge goes to its
      // successor.
      st.out.suspend(0);
      r->active = true;
      r->deadline = caf::make_timestamp() + r->options.timeout;
      r->last_error = describe(dm.reason);
      outlet_try_reconnect(self, r, give_up);
      return;
    }
    if (st.awaiting_confirm && downstream)
      fail_closed(peer_down_error(self, *st.ctx.probe, "downstream",
                                  st.out.paths().front().dst.name, dm));
    else
      on_peer_down(self, dm);
  });
  caf::message_handler own{
      [self](end_atom) {
        auto& st = self->state;
        if (st.out.index_of(self->current_sender()->address()) < 0) {
          if (end_upstream(self)) // an upstream ended
            flow_pump(self);
        } else if (st.awaiting_confirm) { // the inlet confirmed our end
          st.awaiting_confirm = false;
          report_done(self, st.ctx);
        }
      },
      [give_up](stream_error_atom, caf::error& err) { give_up(err); },
      [self, r, give_up](reconnect_atom) {
        if (r->active)
          outlet_try_reconnect(self, r, give_up);
      },
  };
  return own.or_else(flow);
}

} // namespace detail

/// The start of a pipeline fed from other nodes: `pipeline(node).from(
/// inlet<int>("orders"))...`. Starting the pipeline publishes the inlet
/// under `name` on the node (so the node needs `port` set); outlets on other
/// nodes look it up (`remote::lookup`) and send to it. The name is free again
/// when the inlet ends. Items count as produced by the inlet in the summary.
///
/// Errors, through the pipeline's completion: the name cannot be published
/// (`errc::invalid_config` on a node without networking, `invalid_argument`
/// when taken); an outlet's node dies or hangs (`errc::stage_failed` naming
/// the outlet and its node, within the node's connection timeout); a message
/// of another item type (`errc::protocol_violation`); `open_timeout`
/// expired (`errc::timeout`); with `rejoin`, a lost at-least-once outlet
/// had no successor within it (`errc::stage_failed`, "... no successor
/// opened its path within N ms"). Runs in its own actor; the spec itself is
/// a value, used from one thread while the pipeline is built.
template <class T>
struct inlet_spec : detail::named_spec<inlet_spec<T>> {
  /// The name it is published as (the stage name, unless `named`).
  std::string published_as;
  inlet_options options;

  /// Called by `pipeline(node).from(...)`.
  pipeline_builder<T> start_pipeline(coactor::node& n) const {
    caf::error err;
    if (options.upstreams == 0 || options.capacity == 0
        || options.max_batch == 0)
      err = make_error(errc::invalid_argument,
                       "inlet '" + this->name
                           + "': upstreams, capacity and max_batch must be "
                             "at least 1");
    auto prefix
        = [spec = *this](detail::build_context& ctx,
                         const std::vector<detail::peer>& downs, routing<T> r) {
            auto& opts = spec.options;
            detail::flow_args<T, T> a;
            a.ctx = ctx.add(spec.name, spec.name, "inlet", opts.capacity, 0);
            a.upstreams = opts.upstreams;
            a.capacity = opts.capacity;
            a.downs = downs;
            a.route = std::move(r);
            a.max_batch = opts.max_batch;
            a.make = &detail::pass_through<T>;
            auto hdl = ctx.node->spawn(detail::inlet_actor<T>, std::move(a),
                                       opts.open_timeout, opts.rejoin);
            ctx.run->actors.back() = hdl;
            // Published before `start` returns: a peer may look it up right
            // away.
            if (auto e = remote::publish(*ctx.node, spec.published_as, hdl))
              caf::anon_send(ctx.controller, stream_error_atom::value,
                             detail::prefixed("inlet '" + spec.name + "'", e));
          };
    return pipeline_builder<T>{&n, std::move(prefix), 1,
                               1,  {this->name},      std::move(err)};
  }
};

/// Returns an inlet published as `name` (also its stage name).
template <class T>
inlet_spec<T> inlet(std::string name, inlet_options opts = {}) {
  inlet_spec<T> s;
  s.name = name;
  s.published_as = std::move(name);
  s.options = opts;
  return s;
}

// -- outlet
// --------------------------------------------------------------------

/// The end of a pipeline that sends its items to an inlet on another node
/// (`.to(outlet<int>(hdl))`, with `hdl` from `remote::lookup`). The outlet
/// sends only within the credit the inlet grants, so a slow remote pipeline
/// slows this one down; it completes when the inlet confirmed the end of
/// the stream (every item arrived there). Items count as consumed in this
/// pipeline's summary.
///
/// Errors, through the pipeline's completion: the inlet's node dies or hangs
/// (`errc::stage_failed` naming the inlet and its node); the inlet fails
/// (its error); `T` is not registered on this node or the inlet's
/// (`errc::type_not_registered`, checked before anything is sent); a null
/// handle (`errc::invalid_argument`).
template <class T>
struct outlet_spec : detail::named_spec<outlet_spec<T>> {
  caf::actor target;
  /// The inlet's name, for errors.
  std::string target_name;
  /// Credit it keeps granted to its upstreams: items it holds while the
  /// inlet grants none.
  size_t window = 4096;
  /// The largest batch it sends over the wire.
  size_t max_batch = 1024;
  /// At least once: keeps what it sent until the inlet's pipeline consumed
  /// it, and redelivers it to the inlet's successor.
  delivery mode = delivery::at_most_once;
  /// At least once: the items it may hold sent and unacknowledged on top of
  /// `window` (so it holds at most `window + unacked` items). It must cover
  /// what the inlet's pipeline holds (the inlet's capacity, the sinks'
  /// windows) and the acknowledgements' round trip, or the link idles.
  size_t unacked = 32768;
  reconnect_options reconnect;

  /// Makes the outlet at-least-once and, when its inlet's node dies, look
  /// the inlet up again on `host:port` (e.g. the restarted node) for up to
  /// `timeout` before the pipeline fails. The inlet's pipeline acknowledges
  /// what its sinks consumed, so a consumer killed mid-stream loses nothing:
  /// its successor gets every unacknowledged batch again (an item may
  /// arrive twice; `idempotent` sinks drop repeats). Stages between the
  /// inlet and its sinks follow: none may drop the oldest items or key-
  /// partition over several copies, and a batch stage needs a max_delay
  /// (`errc::invalid_argument` otherwise).
  outlet_spec at_least_once(std::string host, uint16_t port,
                            caf::timespan timeout
                            = std::chrono::seconds{30}) && {
    mode = delivery::at_least_once;
    reconnect.host = std::move(host);
    reconnect.port = port;
    reconnect.timeout = timeout;
    return std::move(*this);
  }

  /// Called by the pipeline builder for each copy.
  template <class In>
  caf::actor spawn_one(detail::build_context& ctx, detail::stage_context sc,
                       size_t upstreams) const {
    static_assert(std::is_same_v<In, T>,
                  "outlet<T>: T must be the pipeline's item type");
    sc.probe->kind = "outlet";
    detail::flow_args<T, T> a;
    a.upstreams = upstreams;
    a.capacity = mode == delivery::at_least_once ? window + unacked : window;
    a.max_batch = max_batch;
    a.make = &detail::pass_through<T>;
    auto err = check(ctx);
    if (!err)
      a.downs.push_back({target, target_name});
    a.ctx = std::move(sc);
    auto controller = a.ctx.controller;
    auto hdl = ctx.node->spawn(detail::outlet_actor<T>, std::move(a), mode,
                               reconnect);
    if (err)
      caf::anon_send(controller, stream_error_atom::value, std::move(err));
    return hdl;
  }

 private:
  caf::error check(detail::build_context& ctx) const {
    if (!target)
      return make_error(errc::invalid_argument,
                        "outlet '" + this->name + "': null target");
    const caf::rtti_pair arg = caf::make_rtti_pair<batch_message<T>>();
    if (auto err = remote::detail::check_types(ctx.node->system(), target, &arg,
                                               1, {0, nullptr}))
      return detail::prefixed("outlet '" + this->name
                                  + "' (register the item type with "
                                    "register_item_type on both nodes)",
                              err);
    return {};
  }
};

/// Returns an outlet sending to the inlet `target` (usually on another
/// node), published there as `target_name` (used in errors).
template <class T>
outlet_spec<T> outlet(caf::actor target, std::string target_name = "inlet") {
  outlet_spec<T> s;
  s.name = "outlet";
  s.target = std::move(target);
  s.target_name = std::move(target_name);
  return s;
}

} // namespace coactor::actors
