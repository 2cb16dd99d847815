// coactor::ask: co_await a request to an actor, yielding caf::expected<R>.
#pragma once

#include <chrono>
#include <coroutine>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/expected.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_counted.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/error.hpp"

namespace coactor {

namespace detail {

template <class R>
struct reply_reader {
  static bool read(caf::type_erased_tuple& xs, caf::expected<R>& out) {
    if (!xs.match_elements<R>())
      return false;
    out = xs.move_if_unshared<R>(0);
    return true;
  }
};

template <>
struct reply_reader<void> {
  static bool read(caf::type_erased_tuple& xs, caf::expected<void>& out) {
    if (xs.size() != 0 && !xs.match_elements<caf::unit_t>())
      return false;
    out = caf::unit;
    return true;
  }
};

template <class... Ts>
struct reply_reader<std::tuple<Ts...>> {
  template <size_t... Is>
  static std::tuple<Ts...> take(caf::type_erased_tuple& xs,
                                std::index_sequence<Is...>) {
    return std::tuple<Ts...>{xs.move_if_unshared<Ts>(Is)...};
  }

  static bool read(caf::type_erased_tuple& xs,
                   caf::expected<std::tuple<Ts...>>& out) {
    if (!xs.match_elements<Ts...>())
      return false;
    out = take(xs, std::index_sequence_for<Ts...>{});
    return true;
  }
};

/// Waits for the reply to one request.
template <class R>
class reply_wait final : public wait_base {
 public:
  reply_wait(caf::intrusive_ptr<scope> s, std::coroutine_handle<> h,
             caf::expected<R>* out) noexcept
      : wait_base(std::move(s), h), out_(out) {}

 protected:
  void on_message(caf::type_erased_tuple& xs) override {
    if (auto err = error_in(xs)) {
      *out_ = map_reply_error(*err, "ask");
      return;
    }
    if (!reply_reader<R>::read(xs, *out_))
      *out_ = make_error(errc::unexpected_reply,
                         "ask: reply " + xs.stringify()
                             + " does not match the expected type");
  }

  void set_error(caf::error err) override { *out_ = std::move(err); }

 private:
  caf::expected<R>* out_;
};

} // namespace detail

/// The awaitable returned by `ask`. Sends nothing until awaited.
template <class R, class... Ts>
class [[nodiscard]] ask_awaitable {
 public:
  ask_awaitable(caf::scheduled_actor* self, caf::strong_actor_ptr target,
                caf::timespan timeout, std::tuple<Ts...> args)
      : self_(self), target_(std::move(target)), timeout_(timeout),
        args_(std::move(args)) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    auto* s = h.promise().scope();
    if ((stats_ = s->asks()) != nullptr)
      started_ = std::chrono::steady_clock::now();
    if (s->stopped()) {
      result_ = make_error(errc::cancelled, "ask");
      return false;
    }
    if (target_ == nullptr) {
      result_ = make_error(errc::target_down, "ask: invalid target handle");
      return false;
    }
    auto req = self_->new_request_id(caf::message_priority::normal);
    detail::register_wait(
        self_, s, req.response_id(),
        caf::make_counted<detail::reply_wait<R>>(s, h, &result_));
    detail::arm_timeout(self_, req, timeout_);
    std::apply(
        [&](Ts&... xs) {
          target_->enqueue(caf::make_mailbox_element(self_->ctrl(), req, {},
                                                     std::move(xs)...),
                           self_->context());
        },
        args_);
    return true;
  }

  caf::expected<R> await_resume() {
    if (stats_ != nullptr)
      detail::record_ask(*stats_, std::chrono::steady_clock::now() - started_,
                         result_ ? nullptr : &result_.error());
    return std::move(result_);
  }

  /// @private The target (null for an invalid handle).
  [[nodiscard]] const caf::strong_actor_ptr& target() const noexcept {
    return target_;
  }

  /// @private The timeout of this ask.
  [[nodiscard]] caf::timespan timeout() const noexcept { return timeout_; }

  /// @private Sends the request with id `req` (once).
  void send(caf::message_id req) {
    std::apply(
        [&](Ts&... xs) {
          target_->enqueue(caf::make_mailbox_element(self_->ctrl(), req, {},
                                                     std::move(xs)...),
                           self_->context());
        },
        args_);
  }

 private:
  caf::scheduled_actor* self_;
  caf::strong_actor_ptr target_;
  caf::timespan timeout_;
  std::tuple<Ts...> args_;
  detail::ask_stats* stats_ = nullptr; // counted when set (await_suspend)
  std::chrono::steady_clock::time_point started_;
  // An empty error (no allocation); always overwritten before await_resume.
  caf::expected<R> result_{caf::error{}};
};

/// Sends `args...` as a request to `target` and yields its reply as
/// `caf::expected<R>`: `R` is `void` (an empty reply), one value type, or a
/// `std::tuple<Ts...>` for a reply of several values. Use inside a
/// `coactor::task` of `self` only. The request is sent when the task
/// suspends at `co_await`, not when `ask` is called.
///
/// Errors (never thrown): `errc::timeout` when no reply came within
/// `timeout` (`caf::timespan::max()` waits forever); `errc::target_down` for
/// an invalid handle or a dead target; `errc::unexpected_reply` for a reply
/// of another type; `errc::cancelled` when the task was cancelled; the
/// target's own error otherwise. A reply arriving after the timeout or the
/// cancellation is dropped.
///
/// Threading: resumes in `self`'s context. Arguments are copied into the
/// awaitable (build values before the `co_await`: g++ 12 rejects braced
/// lists inside it).
template <class R, class Handle, class... Ts>
ask_awaitable<R, std::decay_t<Ts>...> ask(caf::scheduled_actor* self,
                                          const Handle& target,
                                          caf::timespan timeout, Ts&&... args) {
  static_assert(sizeof...(Ts) > 0, "ask needs a message");
  return {self, caf::actor_cast<caf::strong_actor_ptr>(target), timeout,
          std::tuple<std::decay_t<Ts>...>{std::forward<Ts>(args)...}};
}

} // namespace coactor
