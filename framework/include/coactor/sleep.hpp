// coactor::sleep: co_await a duration in the actor's clock (virtual time on
// the testing scheduler).
#pragma once

#include <coroutine>

#include <caf/expected.hpp>
#include <caf/make_counted.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/error.hpp"

namespace coactor {

namespace detail {

class sleep_wait final : public wait_base {
 public:
  sleep_wait(caf::intrusive_ptr<scope> s, std::coroutine_handle<> h,
             caf::expected<void>* out) noexcept
      : wait_base(std::move(s), h), out_(out) {}

 protected:
  void on_message(caf::type_erased_tuple& xs) override {
    // The clock's request timeout is the normal end of a sleep.
    auto err = error_in(xs);
    if (err != nullptr && !is_request_timeout(*err))
      *out_ = *err;
    else
      *out_ = caf::unit;
  }

  void set_error(caf::error err) override { *out_ = std::move(err); }

 private:
  caf::expected<void>* out_;
};

} // namespace detail

/// The awaitable returned by `sleep`.
class [[nodiscard]] sleep_awaitable {
 public:
  sleep_awaitable(caf::scheduled_actor* self, caf::timespan d) noexcept
      : self_(self), d_(d) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    auto* s = h.promise().scope();
    if (s->stopped()) {
      result_ = make_error(errc::cancelled, "sleep");
      return false;
    }
    auto req = self_->new_request_id(caf::message_priority::normal);
    detail::register_wait(
        self_, s, req.response_id(),
        caf::make_counted<detail::sleep_wait>(s, h, &result_));
    detail::arm_timeout(self_, req, d_);
    return true;
  }

  caf::expected<void> await_resume() noexcept { return std::move(result_); }

 private:
  caf::scheduled_actor* self_;
  caf::timespan d_;
  caf::expected<void> result_{caf::error{}}; // overwritten before resuming
};

/// Suspends the calling task for `d` of `self`'s clock (virtual time on the
/// testing scheduler: `advance_time` ends it) while `self` handles other
/// messages; yields `caf::expected<void>`: success, or `errc::cancelled`
/// when the task was cancelled meanwhile. A zero or negative `d` yields to
/// the messages already in the mailbox (asyncio's `sleep(0)`).
/// `caf::timespan::max()` sleeps until cancelled.
///
/// Threading: use inside a `coactor::task` of `self` only; resumes in
/// `self`'s context.
inline sleep_awaitable sleep(caf::scheduled_actor* self,
                             caf::timespan d) noexcept {
  return {self, d};
}

} // namespace coactor
