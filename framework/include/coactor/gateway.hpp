// coactor::async_ask / ask_future: requests from non-actor code (a server's
// request threads) to actors, through one long-lived gateway actor per node.
#pragma once

#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message_id.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"

namespace coactor {

namespace detail {

/// Request timeouts of the gateway actor, kept by the gateway itself: one
/// actor-clock timer for the earliest deadline instead of a CAF request
/// timeout per request (which costs a hand-off to CAF's clock thread per
/// request and stays in the clock long after the reply).
///
/// Cheap per request: requests with the same timeout expire in the order
/// they were made, so each distinct timeout keeps a FIFO of deadlines; a
/// reply only clears a flag (no search, no allocation in the steady state).
/// Memory grows with the requests made while the oldest pending one waits.
///
/// Threading: actor context only.
class request_deadlines {
 public:
  request_deadlines();
  ~request_deadlines();
  request_deadlines(const request_deadlines&) = delete;
  request_deadlines& operator=(const request_deadlines&) = delete;

  /// Delivers `sec::request_timeout` under response id `rid` to `self` when
  /// `forget` was not called with the returned ticket within `timeout`.
  uint64_t track(caf::event_based_actor* self, caf::message_id rid,
                 caf::timespan timeout);

  /// Stops tracking the request of `ticket` (its reply arrived).
  /// Idempotent.
  void forget(uint64_t ticket) noexcept;

  /// Returns how many requests are tracked.
  [[nodiscard]] std::size_t size() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

class gateway_job;

/// The gateway actor's own state, as its jobs see it. Actor context only.
class gateway_context {
 public:
  explicit gateway_context(caf::event_based_actor* self) noexcept;
  gateway_context(const gateway_context&) = delete;
  gateway_context& operator=(const gateway_context&) = delete;

  /// The gateway actor.
  [[nodiscard]] caf::event_based_actor* self() const noexcept { return self_; }

  /// The deadlines of pending requests.
  [[nodiscard]] request_deadlines& deadlines() noexcept { return deadlines_; }

  /// Queues `job`, whose result is settled, for `deliver_settled`. The
  /// callbacks of replies that arrived together then run back to back, after
  /// the messages already in the gateway's mailbox: a thread that waits for
  /// several replies is woken once per batch, not once per reply.
  void settled(std::shared_ptr<gateway_job> job);

  /// Runs the callbacks of the settled jobs (on a flush message).
  void deliver_settled() noexcept;

 private:
  caf::event_based_actor* self_;
  request_deadlines deadlines_;
  std::vector<std::shared_ptr<gateway_job>> settled_;
  std::vector<std::shared_ptr<gateway_job>> delivering_;
  bool flush_pending_ = false;
};

/// A unit of work that runs inside a node's gateway actor.
class gateway_job {
 public:
  virtual ~gateway_job() = default;

  /// Runs in the gateway actor's context. `me` owns this job; the job may
  /// keep it (e.g. in a response handler) for as long as it needs.
  virtual void run(gateway_context& ctx, std::shared_ptr<gateway_job>&& me) = 0;

  /// Calls the callback with the settled result (see
  /// `gateway_context::settled`).
  virtual void deliver() noexcept = 0;
};

/// Hands `job` to the gateway of `n`, starting the gateway on first use.
/// Returns false and leaves `job` untouched when the node does not run.
/// Thread-safe; never blocks on actors. Jobs posted in a burst reach the
/// gateway in one mailbox message (the first post of a burst wakes it).
bool post_to_gateway(node& n, std::shared_ptr<gateway_job>& job) noexcept;

/// Turns CAF's request errors into coactor's: `sec::request_timeout` →
/// `errc::timeout`, `sec::request_receiver_down` → `errc::target_down`,
/// `sec::unexpected_response` → `errc::unexpected_reply`, each with `what`
/// as context. Any other error (e.g. one the target replied with) is kept.
[[nodiscard]] caf::error request_error(caf::error err, const std::string& what);

/// Names a request for error contexts: "ask actor #<id>".
[[nodiscard]] std::string describe_ask(caf::actor_id target);

/// Calls `cb` with `x`, swallowing exceptions: a callback must not throw,
/// and there is nobody to tell on this thread.
template <class Callback, class T>
void invoke_callback(Callback& cb, T&& x) noexcept {
  try {
    cb(std::forward<T>(x));
  } catch (...) {
  }
}

/// Turns a reply `R` into the handler signature CAF matches.
template <class R>
struct reply_handler {
  template <class Job>
  static auto make(std::shared_ptr<Job> job, gateway_context* ctx,
                   uint64_t ticket) {
    return [job, ctx, ticket](R& x) {
      ctx->deadlines().forget(ticket);
      job->settle(std::move(x));
      ctx->settled(job);
    };
  }
};

template <>
struct reply_handler<void> {
  template <class Job>
  static auto make(std::shared_ptr<Job> job, gateway_context* ctx,
                   uint64_t ticket) {
    return [job, ctx, ticket] {
      ctx->deadlines().forget(ticket);
      job->settle(caf::expected<void>{});
      ctx->settled(job);
    };
  }
};

template <class... Ts>
struct reply_handler<std::tuple<Ts...>> {
  template <class Job>
  static auto make(std::shared_ptr<Job> job, gateway_context* ctx,
                   uint64_t ticket) {
    return [job, ctx, ticket](Ts&... xs) {
      ctx->deadlines().forget(ticket);
      job->settle(std::make_tuple(std::move(xs)...));
      ctx->settled(job);
    };
  }
};

/// One ask: the request's arguments and the callback, in one allocation.
/// Calls the callback exactly once: with the result, or with
/// `errc::node_stopped` when destroyed before a result (gateway gone).
template <class R, class Handle, class Callback, class... Ts>
class ask_job final : public gateway_job {
 public:
  ask_job(Callback cb, Handle target, caf::timespan timeout,
          std::tuple<Ts...> args)
      : cb_(std::move(cb)), target_(std::move(target)), timeout_(timeout),
        args_(std::move(args)) {}

  ask_job(const ask_job&) = delete;
  ask_job& operator=(const ask_job&) = delete;

  ~ask_job() override {
    if (done_)
      return;
    if (result_)
      deliver(); // settled, but the gateway ended before delivering
    else
      complete(make_error(errc::node_stopped,
                          what() + ": the node stopped before the reply"));
  }

  /// Calls the callback with `x` unless it was called before.
  void complete(caf::expected<R> x) noexcept {
    if (done_)
      return;
    done_ = true;
    invoke_callback(cb_, std::move(x));
  }

  /// Stores the result for `deliver`.
  void settle(caf::expected<R> x) { result_.emplace(std::move(x)); }

  void deliver() noexcept override {
    if (result_) {
      auto x = std::move(*result_);
      result_.reset();
      complete(std::move(x));
    }
  }

  /// Describes the request, for error contexts (built only on errors).
  std::string what() const {
    return describe_ask(target_ ? target_.id() : caf::actor_id{0});
  }

  void run(gateway_context& ctx, std::shared_ptr<gateway_job>&& me) override {
    auto job = std::static_pointer_cast<ask_job>(std::move(me));
    auto* self = ctx.self();
    auto* cp = &ctx;
    std::apply(
        [&](auto&... xs) {
          // No CAF timeout: the context's deadlines deliver it.
          auto hdl = self->request(target_, caf::infinite, std::move(xs)...);
          auto ticket = ctx.deadlines().track(self, hdl.id(), timeout_);
          hdl.then(reply_handler<R>::make(job, cp, ticket),
                   [job, cp, ticket](caf::error& err) {
                     cp->deadlines().forget(ticket);
                     job->settle(request_error(std::move(err), job->what()));
                     cp->settled(job);
                   });
        },
        args_);
  }

 private:
  Callback cb_;
  Handle target_;
  caf::timespan timeout_;
  std::tuple<Ts...> args_;
  std::optional<caf::expected<R>> result_;
  bool done_ = false;
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
  if (!target) {
    detail::invoke_callback(callback,
                            caf::expected<R>{make_error(errc::invalid_argument,
                                                        "ask: null target")});
    return;
  }
  if (timeout <= caf::timespan::zero()) {
    detail::invoke_callback(
        callback,
        caf::expected<R>{make_error(errc::invalid_argument,
                                    detail::describe_ask(target.id())
                                        + ": the timeout must be positive")});
    return;
  }
  using job_type = detail::ask_job<R, Handle, Callback, std::decay_t<Ts>...>;
  std::shared_ptr<detail::gateway_job> job = std::make_shared<job_type>(
      std::move(callback), target, timeout,
      std::tuple<std::decay_t<Ts>...>{std::forward<Ts>(xs)...});
  if (!detail::post_to_gateway(n, job)) {
    auto& aj = static_cast<job_type&>(*job);
    aj.complete(make_error(errc::node_stopped,
                           aj.what() + ": the node is not running"));
  }
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
