// coactor::call_later / call_at / call_every: one-shot, periodic and
// cancellable timers that run a function inside an actor (asyncio's
// loop.call_later / loop.call_at).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

#include <caf/actor_clock.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/behavior.hpp>
#include <caf/error.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/timespan.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "coactor/detail/rearm.hpp"
#include "coactor/log.hpp"

namespace coactor {

namespace detail {

class timer_state {
 public:
  enum phase_t : uint8_t { armed, done, cancelled };

  timer_state(caf::scheduled_actor* self, caf::timespan period)
      : handler(self), target(self->ctrl()), period(period) {}

  std::atomic<uint8_t> phase{armed};
  std::atomic<uint64_t> fired{0};
  // Actor context only (after construction).
  rearmable_handler handler;
  caf::actor_clock::time_point due;
  const caf::weak_actor_ptr target;
  const caf::timespan period; // zero: one-shot
};

/// Sent by `timer::cancel` so that the actor drops the handler and the
/// clock entry at once.
struct timer_cancel_msg {};

} // namespace detail

/// A handle to a timer made by `call_later`, `call_at` or `call_every`.
/// Copyable; does not keep the timer's actor alive; dropping every handle
/// does not cancel the timer.
///
/// Threading: every member function may be called from any thread and never
/// blocks or throws.
class timer {
 public:
  /// A handle to no timer.
  timer() = default;

  /// @private
  explicit timer(std::shared_ptr<detail::timer_state> st)
      : state_(std::move(st)) {}

  /// Cancels the timer: its function does not start after `cancel` returns
  /// (a call running concurrently in the actor finishes). Also from inside
  /// the timer's own function. Idempotent; no effect on a fired one-shot
  /// timer or once the actor exited.
  void cancel() const noexcept {
    if (!state_)
      return;
    auto prev = state_->phase.exchange(detail::timer_state::cancelled,
                                       std::memory_order_acq_rel);
    if (prev != detail::timer_state::armed)
      return;
    if (auto ptr = state_->target.lock()) {
      try {
        ptr->enqueue(caf::make_mailbox_element(nullptr, state_->handler.mid(),
                                               {}, detail::timer_cancel_msg{}),
                     nullptr);
      } catch (...) {
        // Out of memory: the tick still comes and is ignored.
      }
    }
  }

  /// Returns whether the function may still run: neither cancelled nor (for
  /// a one-shot timer) fired. Does not notice that the actor exited.
  [[nodiscard]] bool active() const noexcept {
    return state_
           && state_->phase.load(std::memory_order_acquire)
                  == detail::timer_state::armed;
  }

  /// Returns how often the function ran so far.
  [[nodiscard]] uint64_t fired() const noexcept {
    return state_ ? state_->fired.load(std::memory_order_acquire) : 0;
  }

  /// Returns whether this handle refers to a timer.
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  std::shared_ptr<detail::timer_state> state_;
};

namespace detail {

template <class F>
timer make_timer(caf::scheduled_actor* self, caf::actor_clock::time_point due,
                 caf::timespan period, F fn) {
  auto st = std::make_shared<timer_state>(self, period);
  st->due = due;
  auto fp = std::make_shared<F>(std::move(fn));
  auto mid = st->handler.mid();
  caf::behavior bhvr{
      // The actor clock delivers a request timeout under our response id.
      [self, st, fp](caf::error&) {
        if (st->phase.load(std::memory_order_acquire) != timer_state::armed)
          return; // cancelled: not rearmed
        if (st->period > caf::timespan::zero()) {
          // Next tick relative to the due time, not to now: no drift.
          st->due += st->period;
          st->handler.rearm(self);
          self->clock().set_request_timeout(st->due, self, st->handler.mid());
        } else {
          auto expected = static_cast<uint8_t>(timer_state::armed);
          st->phase.compare_exchange_strong(expected, timer_state::done);
        }
        st->fired.fetch_add(1, std::memory_order_acq_rel);
        try {
          (*fp)();
        } catch (const std::exception& e) {
          log::actor_logger{self, "timer"}.error("timer function threw: {}",
                                                 e.what());
        } catch (...) {
          log::actor_logger{self, "timer"}.error(
              "timer function threw a non-standard exception");
        }
      },
      [self, st](timer_cancel_msg&) {
        self->clock().cancel_request_timeout(self, st->handler.mid());
      }};
  st->handler.arm(self, std::move(bhvr));
  self->clock().set_request_timeout(due, self, mid);
  return timer{std::move(st)};
}

} // namespace detail

/// Runs `fn()` once in `self`'s context after `delay` (asyncio's
/// `call_later`). Time is `self`'s actor clock: virtual on CAF's testing
/// scheduler, so tests advance it instead of sleeping.
///
/// Threading: call from `self`'s context; the returned handle may go to any
/// thread. `fn` runs in `self`'s context; an exception from it is logged
/// (component "timer"). `fn` may be move-only and is destroyed in `self`'s
/// context. A pending timer is dropped when `self` exits; like a pending
/// request, it keeps an actor with an empty behaviour alive until it fired
/// or was cancelled.
template <class F>
timer call_later(caf::scheduled_actor* self, caf::timespan delay, F fn) {
  if (delay < caf::timespan::zero())
    delay = caf::timespan::zero();
  return detail::make_timer(self, self->clock().now() + delay,
                            caf::timespan::zero(), std::move(fn));
}

/// Runs `fn()` once in `self`'s context at `when` on `self`'s actor clock
/// (`self->clock().now()` tells the current time; asyncio's `call_at`). A
/// time in the past fires at once. Otherwise as `call_later`.
template <class F>
timer call_at(caf::scheduled_actor* self, caf::actor_clock::time_point when,
              F fn) {
  return detail::make_timer(self, when, caf::timespan::zero(), std::move(fn));
}

/// Runs `fn()` in `self`'s context every `period`, first after one period,
/// until cancelled or `self` exits. Ticks are scheduled from the previous due
/// time, so they do not drift. A non-positive period is treated as one
/// nanosecond. Otherwise as `call_later`.
template <class F>
timer call_every(caf::scheduled_actor* self, caf::timespan period, F fn) {
  if (period <= caf::timespan::zero())
    period = caf::timespan{1};
  return detail::make_timer(self, self->clock().now() + period, period,
                            std::move(fn));
}

} // namespace coactor

template <>
struct caf::allowed_unsafe_message_type<coactor::detail::timer_cancel_msg>
    : std::true_type {};
