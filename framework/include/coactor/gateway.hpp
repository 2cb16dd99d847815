// coactor::async_ask / ask_future: requests from non-actor code (a server's
// request threads) to actors, through one long-lived gateway actor per node.
#pragma once

#include <exception>
#include <future>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"

namespace coactor {

namespace detail {

/// Request timeouts of the gateway actor, kept by the gateway itself: one
/// actor-clock timer for the earliest deadline instead of a CAF request
/// timeout per request (which costs a hand-off to CAF's clock thread per
/// request and stays in the clock long after the reply). Actor context only.
class request_deadlines {
 public:
  request_deadlines();
  ~request_deadlines();
  request_deadlines(const request_deadlines&) = delete;
  request_deadlines& operator=(const request_deadlines&) = delete;

  /// Delivers `sec::request_timeout` under response id `rid` to `self` when
  /// `forget(rid)` was not called within `timeout`.
  void track(caf::event_based_actor* self, caf::message_id rid,
             caf::timespan timeout);

  /// Stops tracking `rid` (its reply arrived).
  void forget(caf::message_id rid) noexcept;

  /// Returns how many requests are tracked.
  [[nodiscard]] std::size_t size() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A unit of work that runs inside a node's gateway actor.
class gateway_job {
 public:
  virtual ~gateway_job() = default;

  /// Runs in the gateway actor's context.
  virtual void run(caf::event_based_actor* self, request_deadlines& dl) = 0;
};

/// The gateway's only message type.
struct gateway_msg {
  std::shared_ptr<gateway_job> job;
};

/// Hands `job` to the gateway of `n`, starting the gateway on first use.
/// Returns false (and destroys `job`) when the node does not run.
/// Thread-safe; never blocks on actors.
bool post_to_gateway(node& n, std::shared_ptr<gateway_job> job) noexcept;

/// Turns CAF's request errors into coactor's: `sec::request_timeout` →
/// `errc::timeout`, `sec::request_receiver_down` → `errc::target_down`,
/// `sec::unexpected_response` → `errc::unexpected_reply`, each with `what`
/// as context. Any other error (e.g. one the target replied with) is kept.
[[nodiscard]] caf::error request_error(caf::error err, const std::string& what);

/// Names a request for error contexts: "ask actor #<id>".
[[nodiscard]] std::string describe_ask(caf::actor_id target);

/// Calls the callback exactly once: with the result, or with
/// `errc::node_stopped` when destroyed before (gateway gone).
template <class R, class Callback>
class ask_completion {
 public:
  ask_completion(Callback cb, caf::actor_id target)
      : cb_(std::move(cb)), target_(target) {}

  ask_completion(const ask_completion&) = delete;
  ask_completion& operator=(const ask_completion&) = delete;

  ~ask_completion() {
    if (!done_)
      complete(make_error(errc::node_stopped,
                          what() + ": the node stopped before the reply"));
  }

  void complete(caf::expected<R> x) noexcept {
    if (done_)
      return;
    done_ = true;
    try {
      cb_(std::move(x));
    } catch (...) {
      // A callback must not throw; there is nobody to tell on this thread.
    }
  }

  /// Describes the request, for error contexts (built only on errors).
  std::string what() const { return describe_ask(target_); }

 private:
  Callback cb_;
  caf::actor_id target_;
  bool done_ = false;
};

template <class R>
struct reply_handler {
  template <class C>
  static auto make(std::shared_ptr<C> c, request_deadlines* dl,
                   caf::message_id rid) {
    return [c, dl, rid](R& x) {
      dl->forget(rid);
      c->complete(std::move(x));
    };
  }
};

template <>
struct reply_handler<void> {
  template <class C>
  static auto make(std::shared_ptr<C> c, request_deadlines* dl,
                   caf::message_id rid) {
    return [c, dl, rid] {
      dl->forget(rid);
      c->complete(caf::expected<void>{});
    };
  }
};

template <class... Ts>
struct reply_handler<std::tuple<Ts...>> {
  template <class C>
  static auto make(std::shared_ptr<C> c, request_deadlines* dl,
                   caf::message_id rid) {
    return [c, dl, rid](Ts&... xs) {
      dl->forget(rid);
      c->complete(std::make_tuple(std::move(xs)...));
    };
  }
};

template <class R, class Handle, class Callback, class... Ts>
class ask_job final : public gateway_job {
 public:
  using completion = ask_completion<R, Callback>;

  ask_job(std::shared_ptr<completion> c, Handle target, caf::timespan timeout,
          std::tuple<Ts...> args)
      : c_(std::move(c)), target_(std::move(target)), timeout_(timeout),
        args_(std::move(args)) {}

  void run(caf::event_based_actor* self, request_deadlines& dl) override {
    auto c = std::move(c_);
    auto* dlp = &dl;
    std::apply(
        [&](auto&... xs) {
          // No CAF timeout: `dl` delivers it (see request_deadlines).
          auto hdl = self->request(target_, caf::infinite, std::move(xs)...);
          auto rid = hdl.id(); // a response id already
          dl.track(self, rid, timeout_);
          hdl.then(reply_handler<R>::make(c, dlp, rid),
                   [c, dlp, rid](caf::error& err) {
                     dlp->forget(rid);
                     c->complete(request_error(std::move(err), c->what()));
                   });
        },
        args_);
  }

 private:
  std::shared_ptr<completion> c_;
  Handle target_;
  caf::timespan timeout_;
  std::tuple<Ts...> args_;
};

} // namespace detail

/// Sends a request from non-actor code (any thread that is not an actor of
/// this node, e.g. a server's request thread) to `target` and calls
/// `callback(caf::expected<R>)` exactly once with the reply or an error. Never
/// blocks: many requests may be in flight at once ("pipelined"). `R` is the
/// reply type: `void`, one value, or `std::tuple<...>` for several values.
///
/// Threading: the callback runs on one of the node's worker threads inside
/// the node's gateway actor, so it must not block and should only hand the
/// result on (to a promise, a queue, an I/O loop); every callback of a node
/// runs on the same actor, one at a time. When the request cannot even be
/// made (bad arguments, node not running) the callback runs on the calling
/// thread before `async_ask` returns.
///
/// Errors: `errc::invalid_argument` for a null target or a non-positive
/// timeout; `errc::timeout` when no reply came within `timeout`;
/// `errc::target_down` when the target is dead; `errc::unexpected_reply`
/// when the reply does not match `R`; `errc::node_stopped` when the node is
/// not running or stops before the reply; any error the target replied with.
template <class R, class Handle, class Callback, class... Ts>
void async_ask(node& n, const Handle& target, caf::timespan timeout,
               Callback callback, Ts&&... xs) {
  using completion = detail::ask_completion<R, Callback>;
  auto c = std::make_shared<completion>(
      std::move(callback), target ? target.id() : caf::actor_id{0});
  if (!target) {
    c->complete(make_error(errc::invalid_argument, "ask: null target"));
    return;
  }
  if (timeout <= caf::timespan::zero()) {
    c->complete(make_error(errc::invalid_argument,
                           c->what() + ": the timeout must be positive"));
    return;
  }
  using job_type = detail::ask_job<R, Handle, Callback, std::decay_t<Ts>...>;
  auto job = std::make_shared<job_type>(
      c, target, timeout,
      std::tuple<std::decay_t<Ts>...>{std::forward<Ts>(xs)...});
  if (!detail::post_to_gateway(n, std::move(job)))
    c->complete(make_error(errc::node_stopped,
                           c->what() + ": the node is not running"));
}

/// Sends a request from non-actor code to `target`; the returned future gets
/// the reply or an error, never an exception, and is always satisfied
/// (at the latest after `timeout`). Same contract and errors as `async_ask`.
/// Blocking on the future is for non-actor threads only: never call `get()`
/// inside an actor.
template <class R, class Handle, class... Ts>
[[nodiscard]] std::future<caf::expected<R>>
ask_future(node& n, const Handle& target, caf::timespan timeout, Ts&&... xs) {
  auto prom = std::make_shared<std::promise<caf::expected<R>>>();
  auto fut = prom->get_future();
  async_ask<R>(
      n, target, timeout,
      [prom](caf::expected<R> x) { prom->set_value(std::move(x)); },
      std::forward<Ts>(xs)...);
  return fut;
}

} // namespace coactor

template <>
struct caf::allowed_unsafe_message_type<coactor::detail::gateway_msg>
    : std::true_type {};
