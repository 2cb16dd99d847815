// coactor::from_callback: co_await an operation that reports through a
// callback, called from any thread.
#pragma once

#include <atomic>
#include <coroutine>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/expected.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_counted.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/detail/task_promise.hpp"
#include "coactor/error.hpp"

namespace coactor {

namespace detail {

/// Shared between an awaiting frame and every copy of its `done` callable.
template <class T>
struct callback_state {
  callback_state(caf::actor_addr target, caf::message_id rid)
      : target(std::move(target)), rid(rid) {}

  /// Claims the right to complete; true for the first caller only.
  bool claim() noexcept { return !fired.exchange(true); }

  /// Wakes the actor; the value was stored before (the mailbox orders it).
  void signal() const {
    if (auto hdl = caf::actor_cast<caf::strong_actor_ptr>(target))
      hdl->enqueue(caf::make_mailbox_element(nullptr, rid, {}, caf::message{}),
                   nullptr);
  }

  std::atomic<bool> fired{false};
  caf::actor_addr target;
  caf::message_id rid;
  std::optional<caf::expected<T>> value;
  /// Set from the actor's context after `start` returned; called there, at
  /// most once, when the await ends before `done` was called.
  std::function<void()> cancel;
};

template <class T>
class callback_wait final : public wait_base {
 public:
  callback_wait(caf::intrusive_ptr<scope> s, std::coroutine_handle<> h,
                caf::expected<T>* out,
                std::shared_ptr<callback_state<T>> st) noexcept
      : wait_base(std::move(s), h), out_(out), st_(std::move(st)) {}

  // The actor exited (CAF drops the wait without running it): an operation
  // that has not called `done` yet is told to stop.
  ~callback_wait() override { stop_operation(); }

 protected:
  void on_message(caf::type_erased_tuple& xs) override {
    stop_operation(); // a timeout; after `done`, only releases the canceller
    if (auto err = error_in(xs))
      *out_ = map_reply_error(*err, "from_callback: no call to done");
    else if (st_->value)
      *out_ = std::move(*st_->value);
    else
      *out_ = make_error(errc::unexpected_reply, "from_callback");
  }

  void set_error(caf::error err) override { // the task was cancelled
    stop_operation();
    *out_ = std::move(err);
  }

 private:
  // Before the task resumes, so that it never sees the wait ended while the
  // operation still runs. At most once (`claim`), never after `done`. Always
  // drops the canceller: it often holds the operation, which holds `done`
  // and with it this state, a cycle that would never be freed.
  void stop_operation() {
    auto cancel = std::move(st_->cancel);
    st_->cancel = nullptr;
    if (cancel && st_->claim())
      cancel();
  }

  caf::expected<T>* out_;
  std::shared_ptr<callback_state<T>> st_;
};

} // namespace detail

/// The completion callable handed to the `start` function of
/// `from_callback<T>`. Cheap to copy; every copy refers to the same
/// operation.
///
/// Threading: may be called from any thread, any number of times, also
/// after the awaiting task was cancelled or its actor exited. Only the first
/// call counts; later calls (and calls after the timeout, the cancellation
/// or the actor's exit) are ignored. Never throws, never blocks.
template <class T>
class done_callback {
 public:
  explicit done_callback(std::shared_ptr<detail::callback_state<T>> st)
      : st_(std::move(st)) {}

  /// Completes the operation with a value (`T` not void).
  template <class U = T>
  requires(!std::is_void_v<U>) void operator()(U x) const {
    if (st_->claim()) {
      st_->value.emplace(std::move(x));
      st_->signal();
    }
  }

  /// Completes the operation successfully (`T` void).
  template <class U = T>
  requires std::is_void_v<U>
  void operator()() const {
    if (st_->claim()) {
      st_->value.emplace(caf::unit);
      st_->signal();
    }
  }

  /// Completes the operation with an error.
  void operator()(caf::error err) const {
    if (st_->claim()) {
      st_->value.emplace(std::move(err));
      st_->signal();
    }
  }

 private:
  std::shared_ptr<detail::callback_state<T>> st_;
};

/// The awaitable returned by `from_callback`.
template <class T, class Start>
class [[nodiscard]] from_callback_awaitable {
 public:
  from_callback_awaitable(caf::scheduled_actor* self, caf::timespan timeout,
                          Start start)
      : self_(self), timeout_(timeout), start_(std::move(start)) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    auto* s = h.promise().scope();
    if (s->stopped()) {
      result_ = make_error(errc::cancelled, "from_callback");
      return false;
    }
    auto req = self_->new_request_id(caf::message_priority::normal);
    auto st = std::make_shared<detail::callback_state<T>>(self_->address(),
                                                          req.response_id());
    detail::register_wait(
        self_, s, req.response_id(),
        caf::make_counted<detail::callback_wait<T>>(s, h, &result_, st));
    detail::arm_timeout(self_, req, timeout_);
    // Start the operation only now that the coroutine is suspended: a
    // `done` on another thread may resume it as soon as `start` runs.
    try {
      using result = std::invoke_result_t<Start&, done_callback<T>>;
      if constexpr (std::is_void_v<result>)
        start_(done_callback<T>{st});
      else
        st->cancel = start_(done_callback<T>{st});
    } catch (...) {
      done_callback<T>{st}(detail::current_exception_error());
    }
    return true;
  }

  caf::expected<T> await_resume() { return std::move(result_); }

 private:
  caf::scheduled_actor* self_;
  caf::timespan timeout_;
  Start start_;
  caf::expected<T> result_{caf::error{}}; // overwritten before resuming
};

/// Turns a callback-style operation into an awaitable: `start(done)` is
/// called once the task has suspended, with a `done_callback<T>` to hand to
/// the legacy API; `done(value)` (or `done()` for `void`) or
/// `done(caf::error)`, from any thread, resumes the task in `self`'s
/// context with that outcome. Yields `caf::expected<T>`:
/// `errc::timeout` when `done` was not called within `timeout`
/// (`caf::timespan::max()` waits forever), `errc::cancelled` when the task
/// was cancelled, `errc::unhandled_exception` when `start` threw. Only the
/// first call of `done` counts; late calls are harmless. `done` holds only
/// a weak reference to `self`.
///
/// Cancellation: `start` may return a canceller (anything convertible to
/// `std::function<void()>`). When the await ends before `done` was called
/// (timeout, task cancellation, `self` exiting), the canceller is called
/// once, in `self`'s context, so the operation can stop early (close a
/// socket, cancel a timer); on a timeout or a cancellation it runs before
/// the task resumes. It must not block, and `done` calls after it are
/// ignored.
///
/// Threading: use inside a `coactor::task` of `self`; `start` runs in
/// `self`'s context and must not block.
///
/// g++ 12: pass a named callable. A lambda expression written inside the
/// `co_await` expression is destroyed twice by g++ 12 (its captures lose a
/// reference):
///
///     auto start = [api](coactor::done_callback<int> done) { api->go(done); };
///     auto r = co_await coactor::from_callback<int>(self, 5s, start);
template <class T, class Start>
from_callback_awaitable<T, std::decay_t<Start>>
from_callback(caf::scheduled_actor* self, caf::timespan timeout,
              Start&& start) {
  return {self, timeout, std::forward<Start>(start)};
}

} // namespace coactor
