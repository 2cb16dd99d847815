// coactor::bridge: a thread-safe callable that runs a handler inside an actor,
// for callbacks that arrive on foreign threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor_control_block.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/behavior.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "coactor/detail/rearm.hpp"
#include "coactor/log.hpp"

namespace coactor {

namespace detail {

/// Shared by all copies of a bridge and by every call in flight.
class bridge_state {
 public:
  enum phase_t : uint8_t { open, fired, stopped };

  bridge_state(caf::scheduled_actor* self, bool once)
      : handler(self), target(self->ctrl()), once(once) {}

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

  void count_drop() noexcept {
    dropped.fetch_add(1, std::memory_order_relaxed);
  }

  std::atomic<uint8_t> phase{open};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> failed{0};
  // Touched only in the actor's context after construction (mid() excepted,
  // which is immutable).
  rearmable_handler handler;
  const caf::weak_actor_ptr target;
  const bool once;
};

using bridge_state_ptr = std::shared_ptr<bridge_state>;

/// One call in flight. Counts itself as dropped when destroyed without
/// having reached the handler (actor gone, mailbox closed, bridge stopped).
template <class... Args>
struct bridge_call {
  bridge_call(bridge_state_ptr st, Args&&... xs)
      : state(std::move(st)), args(std::move(xs)...) {}

  bridge_call(bridge_call&&) noexcept = default;

  // CAF needs copyable message types but never copies an unshared mailbox
  // element; a copy does not take part in drop accounting.
  bridge_call(const bridge_call& other) : args(other.args) {}

  bridge_call& operator=(const bridge_call&) = delete;
  bridge_call& operator=(bridge_call&&) = delete;

  ~bridge_call() {
    if (state)
      state->count_drop();
  }

  bridge_state_ptr state; // reset by the handler: "arrived"
  std::tuple<Args...> args;
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
/// any thread, concurrently, and never block or throw. The handler runs only
/// in the actor's context, one call at a time, in the order in which each
/// calling thread made its calls (no order between threads).
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
  explicit bridge(detail::bridge_state_ptr st) : state_(std::move(st)) {}

  /// Posts one call to the actor. Returns whether it was handed to the
  /// actor's mailbox; a call handed over can still be dropped (and counted)
  /// if the actor exits or the bridge stops before it runs.
  bool operator()(Args... args) const noexcept {
    if (!state_)
      return false;
    auto& st = *state_;
    if (!st.admit()) {
      st.count_drop();
      return false;
    }
    auto ptr = st.target.lock();
    if (!ptr) {
      st.count_drop();
      return false;
    }
    try {
      // A mailbox that closed meanwhile destroys the element, which counts
      // the drop (see detail::bridge_call).
      ptr->enqueue(caf::make_mailbox_element(nullptr, st.handler.mid(), {},
                                             detail::bridge_call<Args...>{
                                                 state_, std::move(args)...}),
                   nullptr);
      return true;
    } catch (...) {
      // Only allocation can throw here; the call object destroyed on the
      // way out already counted the drop.
      return false;
    }
  }

  /// Closes the bridge: no handler starts after `stop` returns (a handler
  /// running concurrently in the actor finishes). Idempotent; any thread.
  void stop() const noexcept {
    if (!state_)
      return;
    auto prev = state_->phase.exchange(detail::bridge_state::stopped,
                                       std::memory_order_acq_rel);
    if (prev != detail::bridge_state::open)
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
  detail::bridge_state_ptr state_;
};

namespace detail {

template <class... Args, class F>
bridge<Args...> make_bridge_impl(caf::scheduled_actor* self, F fn, bool once) {
  auto st = std::make_shared<bridge_state>(self, once);
  // Shared so that move-only handlers work (CAF copies behaviours); every
  // copy lives in the actor, so `fn` is destroyed in the actor's context.
  auto fp = std::make_shared<F>(std::move(fn));
  std::weak_ptr<bridge_state> weak = st;
  caf::behavior bhvr{[self, weak, fp](bridge_call<Args...>& call) {
                       auto st = std::move(call.state); // arrived: not a drop
                       if (st->is_stopped()) {
                         st->count_drop();
                         return;
                       }
                       if (!st->once)
                         st->handler.rearm(self);
                       // Only the actor writes: no read-modify-write needed.
        st->delivered.store(
            st->delivered.load(std::memory_order_relaxed) + 1,
            std::memory_order_relaxed);
                       try {
                         std::apply(*fp, std::move(call.args));
                       } catch (const std::exception& e) {
                         st->failed.fetch_add(1, std::memory_order_relaxed);
                         log::actor_logger{self, "bridge"}.error(
                             "bridge handler threw: {}", e.what());
                       } catch (...) {
                         st->failed.fetch_add(1, std::memory_order_relaxed);
                         log::actor_logger{self, "bridge"}.error(
                             "bridge handler threw a non-standard exception");
                       }
                     },
                     [](bridge_close_msg&) {
                       // Not rearmed: CAF drops the handler and with it `fn`.
                     }};
  st->handler.arm(self, std::move(bhvr));
  return bridge<Args...>{std::move(st)};
}

template <class List>
struct bridge_maker;

template <class... Ts>
struct bridge_maker<caf::detail::type_list<Ts...>> {
  template <class F>
  static auto make(caf::scheduled_actor* self, F fn, bool once) {
    return make_bridge_impl<std::decay_t<Ts>...>(self, std::move(fn), once);
  }
};

template <class F>
using bridge_maker_for
    = bridge_maker<typename caf::detail::get_callable_trait<F>::arg_types>;

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
struct allowed_unsafe_message_type<coactor::detail::bridge_call<Args...>>
    : std::true_type {};

template <>
struct allowed_unsafe_message_type<coactor::detail::bridge_close_msg>
    : std::true_type {};

} // namespace caf
