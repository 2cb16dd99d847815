// coactor::remote: named actors across nodes on CAF's own remoting (BASP over
// TCP, optionally TLS): publish, connect, lookup and failure-aware asks.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/message_id.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/node_id.hpp>
#include <caf/rtti_pair.hpp>
#include <caf/sec.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"

namespace coactor::remote {

// -- messages -----------------------------------------------------------------

/// Introduces a node to another node's registry:
/// `(hello_atom, std::string name, std::vector<std::string> types)`, answered
/// with the registry node's own name and types.
using hello_atom = caf::atom_constant<caf::atom("cohello")>;
/// Asks a node's registry for the actor published under a name.
using lookup_atom = caf::atom_constant<caf::atom("colookup")>;
/// Asks a node's remoting actor to connect to another node.
using connect_atom = caf::atom_constant<caf::atom("coconnect")>;

/// A node this node is connected to. Plain data, cheap to copy; valid as
/// long as the connection lasts (after the peer died, asks to its actors fail
/// with `errc::connection_failed`; connect again to get a fresh one).
struct peer {
  /// The host and port it was reached at.
  std::string host;
  uint16_t port = 0;
  /// The peer node's name (`node_options::name`).
  std::string name;
  /// CAF's id of the peer node.
  caf::node_id id;
  /// The peer's registry actor (answers `lookup_atom`).
  caf::actor registry;
  /// The message types the peer registered, sorted.
  std::vector<std::string> types;

  /// Returns "'name' at host:port", for error messages.
  [[nodiscard]] std::string describe() const;
};

/// @relates peer
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer& x) {
  return f(caf::meta::type_name("coactor::remote::peer"), x.host, x.port,
           x.name, x.id, x.registry, x.types);
}

/// How `connect` retries.
struct connect_options {
  /// How many times to try; 1 means no retry.
  uint32_t attempts = 1;
  /// The pause after the first failed attempt; doubled after each further
  /// failure (exponential backoff), up to `max_backoff`.
  std::chrono::milliseconds initial_backoff{100};
  /// The longest pause between two attempts.
  std::chrono::milliseconds max_backoff{2000};
  /// How long one attempt (TCP connect, BASP and coactor handshakes) may take.
  std::chrono::milliseconds attempt_timeout{5000};

  /// Returns an upper bound of the whole connect, all attempts and pauses.
  [[nodiscard]] std::chrono::milliseconds total_bound() const;
};

// -- the local node -----------------------------------------------------------

/// Returns the port the node listens on (the one the system picked when
/// `node_options::port` was 0). Errors: `errc::invalid_argument` when the
/// node does not listen, `errc::node_stopped` when it does not run.
[[nodiscard]] caf::expected<uint16_t> port(node& n);

/// Makes `whom` reachable from other nodes under `name` (an entry in the
/// node's registry, which is the actor listening on the node's port). The
/// registry holds a strong reference until `unpublish`, the node stops or
/// `whom` exits (then the name is free again);
/// the node owns `whom` (`node::stop` ends it). Thread-safe; callable from
/// actors through the `caf::actor_system&` overload.
/// Errors: `errc::invalid_argument` for an empty name, a null actor or a name
/// published already; `errc::node_stopped`; `errc::invalid_config` when the
/// node is not networked (`node_options::networked()`).
caf::error publish(node& n, std::string name, caf::actor whom);

/// Same as `publish(node&, ...)`, for code that only has the actor system
/// (an actor: `self->system()`).
caf::error publish(caf::actor_system& sys, std::string name, caf::actor whom);

/// Removes `name` from the registry; returns whether it was there.
bool unpublish(caf::actor_system& sys, const std::string& name);

/// Names the node `nid` for error messages: "node 'name' at host:port" for a
/// node this node connected to, "node 'name'" for one that connected here,
/// "node '<CAF node id>'" for any other, "this node" for `sys`'s own.
/// Thread-safe.
[[nodiscard]] std::string describe_node(caf::actor_system& sys,
                                        const caf::node_id& nid);

/// Returns the node's remoting actor, which answers
/// `(connect_atom, std::string host, uint16_t port, uint32_t attempts,
/// caf::timespan initial_backoff, caf::timespan max_backoff,
/// caf::timespan attempt_timeout)` with a `peer` (the non-blocking way to
/// connect from any actor; see `async_connect`). Null when the node is not
/// networked.
[[nodiscard]] caf::actor remoting_actor(caf::actor_system& sys);

// -- blocking forms, for main and tests
// ----------------------------------------

/// Connects to the node at `host:port`, retrying as `opts` says. Blocks the
/// calling thread: never call it from an actor (use `async_connect`).
/// Errors: `errc::connection_failed` naming host:port, the attempts and the
/// last cause; `errc::invalid_config` when the node is not networked;
/// `errc::tls_failure` when the TLS handshake fails.
[[nodiscard]] caf::expected<peer> connect(node& n, const std::string& host,
                                          uint16_t port,
                                          connect_options opts = {});

/// Looks up the actor published as `name` on `p`. Blocks the calling thread.
/// Errors: `errc::name_not_found` naming the name and the peer;
/// `errc::connection_failed` when the peer is unreachable; `errc::timeout`.
[[nodiscard]] caf::expected<caf::actor>
lookup(node& n, const peer& p, const std::string& name,
       std::chrono::milliseconds timeout = std::chrono::seconds{5});

// -- internals used by the templates below ------------------------------------

namespace detail {

/// Returns an error naming the first type of `args` (or `reply`) that is not
/// registered on this node or on the node of `target`; `none` otherwise.
caf::error check_types(caf::actor_system& sys, const caf::actor& target,
                       const caf::rtti_pair* args, size_t n,
                       caf::rtti_pair reply);

/// Makes `requester` receive an error with response id `mid` (as returned by
/// `response_handle::id()`) when `target` exits or becomes unreachable before
/// the reply arrived. Returns a token for `unguard`. The guard goes away with
/// `unguard`, or when the target or the requester exits first.
const void* guard(caf::actor_system& sys,
                  const caf::strong_actor_ptr& requester,
                  const caf::actor& target, caf::message_id mid);

/// Cancels a `guard`.
void unguard(const caf::strong_actor_ptr& requester, const caf::actor& target,
             const void* token);

/// Returns how many guards exist in this process (for tests).
size_t guards_alive() noexcept;

/// Turns CAF's errors of a request into coactor's (timeouts, dead targets).
caf::error translate(caf::actor_system& sys, const caf::actor& target,
                     caf::error err);

caf::error lookup_error(const peer& p, const std::string& name, caf::error err);

} // namespace detail

// -- actor-side, non-blocking forms -------------------------------------------

/// Sends `xs...` to `target` (usually an actor on another node) and calls
/// `on_result(caf::expected<R>)` in `self`'s context exactly once: with the
/// reply; with `errc::connection_failed` naming the node as soon as the
/// target's node becomes unreachable (TCP drop, or no heartbeat within
/// `node_options::connection_timeout`), not at `timeout`; with
/// `errc::target_down` when the target exits first; with `errc::timeout`;
/// or, before sending anything, with `errc::type_not_registered` naming a
/// type of `xs...` or `R` missing on either node. Never blocks.
template <class R, class Self, class F, class... Ts>
void ask(Self* self, const caf::actor& target, caf::timespan timeout,
         F on_result, Ts&&... xs) {
  using result = caf::expected<R>;
  if (!target) {
    on_result(result{make_error(errc::invalid_argument, "ask: null target")});
    return;
  }
  const caf::rtti_pair args[]
      = {caf::make_rtti_pair<std::decay_t<Ts>>()..., caf::make_rtti_pair<R>()};
  if (auto err = detail::check_types(self->system(), target, args,
                                     sizeof...(Ts), caf::make_rtti_pair<R>())) {
    on_result(result{std::move(err)});
    return;
  }
  auto hdl = self->request(target, timeout, std::forward<Ts>(xs)...);
  auto requester = caf::actor_cast<caf::strong_actor_ptr>(self);
  auto token = detail::guard(self->system(), requester, target, hdl.id());
  auto* sys = &self->system();
  // The handlers run in `self`: a raw pointer to it is enough for unguard.
  hdl.then(
      [=](R& x) mutable {
        detail::unguard(caf::actor_cast<caf::strong_actor_ptr>(self), target,
                        token);
        on_result(result{std::move(x)});
      },
      [=](caf::error& err) mutable {
        detail::unguard(caf::actor_cast<caf::strong_actor_ptr>(self), target,
                        token);
        on_result(result{detail::translate(*sys, target, std::move(err))});
      });
}

/// Connects to `host:port` without blocking `self`, then calls
/// `on_result(caf::expected<peer>)` in `self`'s context. Errors as `connect`.
template <class Self, class F>
void async_connect(Self* self, std::string host, uint16_t port,
                   connect_options opts, F on_result) {
  auto mgr = remoting_actor(self->system());
  if (!mgr) {
    on_result(caf::expected<peer>{make_error(
        errc::invalid_config, "connect to " + host + ":" + std::to_string(port)
                                  + ": the node is not networked (set "
                                    "node_options::networking or port)")});
    return;
  }
  auto bound = opts.total_bound() + std::chrono::seconds{1};
  self->request(mgr, bound, connect_atom::value, std::move(host), port,
                opts.attempts, caf::timespan{opts.initial_backoff},
                caf::timespan{opts.max_backoff},
                caf::timespan{opts.attempt_timeout})
      .then(
          [=](peer& p) mutable {
            on_result(caf::expected<peer>{std::move(p)});
          },
          [=](caf::error& err) mutable {
            on_result(caf::expected<peer>{std::move(err)});
          });
}

/// Looks up `name` on `p` without blocking `self`, then calls
/// `on_result(caf::expected<caf::actor>)` in `self`'s context. Errors as
/// `lookup`.
template <class Self, class F>
void async_lookup(Self* self, const peer& p, std::string name, F on_result,
                  caf::timespan timeout = std::chrono::seconds{5}) {
  ask<caf::actor>(
      self, p.registry, timeout,
      [p, name, on_result](caf::expected<caf::actor> x) mutable {
        if (!x)
          on_result(caf::expected<caf::actor>{
              detail::lookup_error(p, name, std::move(x.error()))});
        else
          on_result(std::move(x));
      },
      lookup_atom::value, name);
}

} // namespace coactor::remote
