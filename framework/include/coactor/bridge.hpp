// coactor::bridge: a thread-safe callable that runs a handler inside an actor,
// for callbacks that arrive on foreign threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor_control_block.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/behavior.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "coactor/detail/bridge_totals.hpp"
#include "coactor/detail/rearm.hpp"
#include "coactor/log.hpp"

namespace coactor {

namespace detail {

/// Shared by all copies of a bridge and by every call in flight.
///
/// Calls do not travel as one mailbox message each: a caller appends its
/// arguments to `queue`, and only the first call of a burst (the one that
/// finds no wake-up pending) sends the actor a `bridge_wake`. The actor takes
/// the whole queue at once. This saves, per call, the mailbox element, the
/// weak-reference lock, a shared-pointer copy and the handler
/// re-registration that a message per call costs.
template <class... Args>
class bridge_state {
 public:
  enum phase_t : uint8_t { open, fired, stopped };

  using call_args = std::tuple<Args...>;

  bridge_state(caf::scheduled_actor* self, bool once)
      : handler(self), target(self->ctrl()), once(once),
        totals(bridge_totals_of(self->home_system())) {}

  /// Decides on the caller's thread whether a call may be posted.
  bool admit() noexcept {
    if (!once)
      return phase.load(std::memory_order_acquire) == open;
    auto expected = static_cast<uint8_t>(open);
    return phase.compare_exchange_strong(expected, fired,
                                         std::memory_order_acq_rel);
  }

  bool is_stopped() const noexcept {
    return phase.load(std::memory_order_acquire) == stopped;
  }

  void count_drop(uint64_t n = 1) noexcept {
    dropped.fetch_add(n, std::memory_order_relaxed);
    if (totals != nullptr)
      bridge_totals::add(totals->dropped, n);
  }

  /// Adds one burst's figures to the node's (actor context).
  void count_burst(uint64_t delivered_now, uint64_t failed_now) noexcept {
    if (totals != nullptr) {
      bridge_totals::add(totals->delivered, delivered_now);
      bridge_totals::add(totals->failed, failed_now);
    }
  }

  /// Drops and counts every queued call and clears the pending wake-up:
  /// the wake-up cannot reach the actor (actor gone, mailbox closed).
  void drop_queued() noexcept {
    std::vector<call_args> lost;
    {
      std::lock_guard<std::mutex> guard{mtx};
      lost.swap(queue);
      wake_pending = false;
    }
    count_drop(lost.size());
  }

  std::atomic<uint8_t> phase{open};
  std::atomic<uint64_t> dropped{0};
  // Written by the actor only; own cache line, away from what callers touch
  // on every call.
  alignas(64) std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};
  // Calls on their way; guarded by `mtx`.
  alignas(64) std::mutex mtx;
  std::vector<call_args> queue;
  bool wake_pending = false;
  // Touched only in the actor's context after construction (mid() excepted,
  // which is immutable).
  rearmable_handler handler;
  const caf::weak_actor_ptr target;
  const bool once;
  // The node's figures (null: not counted).
  const std::shared_ptr<bridge_totals> totals;
};

template <class... Args>
using bridge_state_ptr = std::shared_ptr<bridge_state<Args...>>;

/// Tells the actor that calls wait in the bridge's queue. When destroyed
/// without having reached the handler (actor gone, mailbox closed, handler
/// released by `stop`), it drops and counts the queued calls.
template <class... Args>
struct bridge_wake {
  explicit bridge_wake(bridge_state_ptr<Args...> st) : state(std::move(st)) {}

  bridge_wake(bridge_wake&&) noexcept = default;

  // CAF needs copyable message types but never copies an unshared mailbox
  // element; a copy does not take part in drop accounting.
  bridge_wake(const bridge_wake&) {}

  bridge_wake& operator=(const bridge_wake&) = delete;
  bridge_wake& operator=(bridge_wake&&) = delete;

  ~bridge_wake() {
    if (state)
      state->drop_queued();
  }

  bridge_state_ptr<Args...> state; // reset by the handler: "arrived"
};

/// Sent by `bridge::stop` so that the actor releases the handler at once.
struct bridge_close_msg {};

} // namespace detail

/// Counters of one bridge, shared by all its copies.
struct bridge_stats {
  /// Calls whose handler started (counted just before it runs).
  uint64_t delivered = 0;
  /// Calls that never ran: the bridge was stopped (or a one-shot bridge had
  /// fired), or the actor had exited.
  uint64_t dropped = 0;
  /// Calls whose handler threw; included in `delivered`.
  uint64_t failed = 0;
};

/// A cheap, copyable, thread-safe callable that runs a handler inside one
/// actor with the arguments of each call: the way for foreign threads
/// (callbacks of a C library, an I/O thread, a timer wheel) to reach actor
/// state safely. Made with `make_bridge` or `make_one_shot_bridge` from inside
/// the actor.
///
/// Threading: `operator()`, `stop`, `stopped` and `stats` may be called from
/// any thread, concurrently, and never throw or wait for the actor (a call
/// holds the bridge's queue mutex for one append). The handler runs only
/// in the actor's context, one call at a time, in the order in which each
/// calling thread made its calls (no order between threads); calls made in
/// a burst run back to back in one invocation.
///
/// Ownership: the bridge holds the actor weakly: it never keeps the actor
/// alive. After the actor exited, or after `stop()` returned, no handler
/// starts: every later call (and every call still in flight) is dropped and
/// counted in `stats().dropped`. While the bridge is open, the handler stays
/// registered in the actor; an actor whose behaviour became empty stays alive
/// until the bridge is stopped (like an actor awaiting a reply).
///
/// Errors: a handler that throws is logged (component "bridge") and counted
/// in `stats().failed`; the actor and the bridge carry on.
template <class... Args>
class bridge {
 public:
  /// An empty bridge: every call is dropped (and not counted).
  bridge() = default;

  /// @private
  explicit bridge(detail::bridge_state_ptr<Args...> st)
      : state_(std::move(st)) {}

  /// Posts one call to the actor. Returns whether it was handed over; a
  /// call handed over can still be dropped (and counted) if the actor exits
  /// or the bridge stops before it runs.
  bool operator()(Args... args) const noexcept {
    if (!state_)
      return false;
    auto& st = *state_;
    if (!st.admit()) {
      st.count_drop();
      return false;
    }
    {
      std::lock_guard<std::mutex> guard{st.mtx};
      try {
        st.queue.emplace_back(std::move(args)...);
      } catch (...) {
        st.count_drop(); // out of memory
        return false;
      }
      if (st.wake_pending)
        return true; // the wake-up on its way takes this call along
      st.wake_pending = true;
    }
    // The first call of a burst wakes the actor.
    auto ptr = st.target.lock();
    if (!ptr) {
      st.drop_queued();
      return false;
    }
    try {
      // A mailbox that closed meanwhile destroys the element, which drops
      // and counts the queued calls (see detail::bridge_wake).
      ptr->enqueue(
          caf::make_mailbox_element(nullptr, st.handler.mid(), {},
                                    detail::bridge_wake<Args...>{state_}),
          nullptr);
      return true;
    } catch (...) {
      st.drop_queued(); // out of memory
      return false;
    }
  }

  /// Closes the bridge: no handler starts after `stop` returns (a handler
  /// running concurrently in the actor finishes). Idempotent; any thread.
  void stop() const noexcept {
    if (!state_)
      return;
    using state_type = detail::bridge_state<Args...>;
    auto prev = state_->phase.exchange(state_type::stopped,
                                       std::memory_order_acq_rel);
    if (prev != state_type::open)
      return; // stopped already, or a one-shot call in flight consumes it
    // Let the actor release the handler (and the captures of the handler)
    // now rather than when it exits.
    if (auto ptr = state_->target.lock()) {
      try {
        ptr->enqueue(caf::make_mailbox_element(nullptr, state_->handler.mid(),
                                               {}, detail::bridge_close_msg{}),
                     nullptr);
      } catch (...) {
        // Out of memory: the handler stays registered until the actor exits.
      }
    }
  }

  /// Returns whether `stop` was called (a fired one-shot bridge is not
  /// stopped, but drops further calls).
  [[nodiscard]] bool stopped() const noexcept {
    return !state_ || state_->is_stopped();
  }

  /// Returns the counters (a consistent snapshot only once calls ceased).
  [[nodiscard]] bridge_stats stats() const noexcept {
    if (!state_)
      return {};
    return {state_->delivered.load(std::memory_order_acquire),
            state_->dropped.load(std::memory_order_acquire),
            state_->failed.load(std::memory_order_acquire)};
  }

  /// Returns whether this bridge was made by `make_bridge` (not empty).
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  detail::bridge_state_ptr<Args...> state_;
};

namespace detail {

/// Calls a bridge's queue keeps room for between bursts.
inline constexpr std::size_t bridge_max_kept_capacity = 4096;

template <class... Args, class F>
bridge<Args...> make_bridge_impl(caf::scheduled_actor* self, F fn, bool once) {
  using state_type = bridge_state<Args...>;
  auto st = std::make_shared<state_type>(self, once);
  // Shared so that move-only handlers work (CAF copies behaviours); every
  // copy lives in the actor, so `fn` is destroyed in the actor's context.
  auto fp = std::make_shared<F>(std::move(fn));
  // Swapped with the state's queue: both keep their capacity, so a steady
  // stream of bursts allocates nothing for the queue.
  auto batch = std::make_shared<std::vector<typename state_type::call_args>>();
  caf::behavior bhvr{
      [self, fp, batch](bridge_wake<Args...>& wake) {
        auto st = std::move(wake.state); // arrived: the handler accounts
        {
          std::lock_guard<std::mutex> guard{st->mtx};
          batch->swap(st->queue);
          st->wake_pending = false;
        }
        if (st->is_stopped()) {
          st->count_drop(batch->size());
          batch->clear();
          return;
        }
        if (!st->once)
          st->handler.rearm(self);
        size_t i = 0;
        uint64_t failed_now = 0;
        for (; i < batch->size(); ++i) {
          // A handler may stop the bridge or end the actor: the rest of the
          // batch must not run then, as separate messages would not.
          if (st->is_stopped()
              || self->getf(caf::abstract_actor::is_shutting_down_flag
                            | caf::abstract_actor::is_terminated_flag))
            break;
          // Only the actor writes: no read-modify-write needed.
          st->delivered.store(st->delivered.load(std::memory_order_relaxed) + 1,
                              std::memory_order_relaxed);
          try {
            std::apply(*fp, std::move((*batch)[i]));
          } catch (const std::exception& e) {
            ++failed_now;
            st->failed.fetch_add(1, std::memory_order_relaxed);
            log::actor_logger{self, "bridge"}.error("bridge handler threw: {}",
                                                    e.what());
          } catch (...) {
            ++failed_now;
            st->failed.fetch_add(1, std::memory_order_relaxed);
            log::actor_logger{self, "bridge"}.error(
                "bridge handler threw a non-standard exception");
          }
        }
        st->count_burst(i, failed_now);
        st->count_drop(batch->size() - i);
        batch->clear();
        // Keep the capacity of ordinary bursts, not of a rare huge one.
        if (batch->capacity() > bridge_max_kept_capacity)
          batch->shrink_to_fit();
      },
      [](bridge_close_msg&) {
        // Not rearmed: CAF drops the handler and with it `fn`.
      }};
  st->handler.arm(self, std::move(bhvr));
  return bridge<Args...>{std::move(st)};
}

/// Makes bridges for the parameter types `Ts` of a callable.
template <class... Ts>
struct bridge_maker {
  template <class F>
  static auto make(caf::scheduled_actor* self, F fn, bool once) {
    return make_bridge_impl<std::decay_t<Ts>...>(self, std::move(fn), once);
  }
};

/// Deduces the parameter types of a function pointer or of a class with one
/// non-template call operator (a lambda without `auto` parameters).
template <class F>
struct bridge_maker_of : bridge_maker_of<decltype(&F::operator())> {};

template <class R, class... Ts>
struct bridge_maker_of<R (*)(Ts...)> : bridge_maker<Ts...> {};

template <class R, class... Ts>
struct bridge_maker_of<R (*)(Ts...) noexcept> : bridge_maker<Ts...> {};

template <class R, class C, class... Ts>
struct bridge_maker_of<R (C::*)(Ts...)> : bridge_maker<Ts...> {};

template <class R, class C, class... Ts>
struct bridge_maker_of<R (C::*)(Ts...) const> : bridge_maker<Ts...> {};

template <class R, class C, class... Ts>
struct bridge_maker_of<R (C::*)(Ts...) noexcept> : bridge_maker<Ts...> {};

template <class R, class C, class... Ts>
struct bridge_maker_of<R (C::*)(Ts...) const noexcept> : bridge_maker<Ts...> {};

template <class F>
using bridge_maker_for = bridge_maker_of<std::decay_t<F>>;

} // namespace detail

/// Makes a repeating bridge into `self`: each call of the returned callable
/// runs `fn(args...)` in `self`'s context. `Args` defaults to the (decayed)
/// parameter types of `fn`; give them explicitly for a generic lambda.
/// `fn` may be move-only; it is destroyed in the actor's context.
///
/// Threading: call from `self`'s own context (a handler, its constructor or
/// behaviour factory); the result may go to any thread. `self` is any
/// scheduled actor: event-based, stateful or typed; no handler needs to be
/// added to its behaviour.
template <class... Args, class F>
[[nodiscard]] auto make_bridge(caf::scheduled_actor* self, F fn) {
  if constexpr (sizeof...(Args) == 0)
    return detail::bridge_maker_for<F>::make(self, std::move(fn), false);
  else
    return detail::make_bridge_impl<Args...>(self, std::move(fn), false);
}

/// Makes a one-shot bridge into `self`: the first call runs `fn(args...)` in
/// `self`'s context; every later call is dropped and counted. Otherwise as
/// `make_bridge`.
template <class... Args, class F>
[[nodiscard]] auto make_one_shot_bridge(caf::scheduled_actor* self, F fn) {
  if constexpr (sizeof...(Args) == 0)
    return detail::bridge_maker_for<F>::make(self, std::move(fn), true);
  else
    return detail::make_bridge_impl<Args...>(self, std::move(fn), true);
}

} // namespace coactor

namespace caf {

template <class... Args>
struct allowed_unsafe_message_type<coactor::detail::bridge_wake<Args...>>
    : std::true_type {};

template <>
struct allowed_unsafe_message_type<coactor::detail::bridge_close_msg>
    : std::true_type {};

} // namespace caf
