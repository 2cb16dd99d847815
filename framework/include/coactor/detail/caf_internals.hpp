// Internals: the fence around CAF 0.17.6 internals. Every use of
// `caf::detail`, of execution-unit swapping, of self-delivery through
// `eq_impl` and of the testing scheduler's concrete type goes through here
// (or through caf_internals.cpp), so that a CAF upgrade breaks in one place.
//
// Each entry names the CAF 0.17.6 fact it relies on (F1..F7); the test
// tests/framework/caf_internals_test.cpp checks every fact against the
// installed CAF and fails if its behaviour changes. docs/architecture.md
// ("The CAF fence") lists them for readers.
//
// Not fenced here, because they are CAF's public, documented API: the
// `caf::attachable` interface, `caf::make_mailbox_element` with
// `abstract_actor::enqueue`, and `local_actor::context()` passed to
// `enqueue` as a scheduling hint. The scheduler itself
// (framework/src/balanced_scheduler.*) is an implementation of CAF's
// `abstract_coordinator` and is internal by nature; it takes its thread
// naming (F6) from here and its contract is guarded by
// balanced_scheduler_test.cpp.
//
// Public headers of coactor never include `caf/detail/...` or scheduler
// headers themselves; `node.hpp` and `bridge.hpp` do not reach this header.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include <caf/behavior.hpp>
#include <caf/detail/behavior_impl.hpp>
#include <caf/execution_unit.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/message_id.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/type_erased_tuple.hpp>

namespace caf {
class actor_system;
} // namespace caf

namespace caf::scheduler {
class test_coordinator;
} // namespace caf::scheduler

namespace coactor::detail {

// -- F1: response handlers ----------------------------------------------------

/// Base of a one-message suspension point: a CAF behaviour implementation
/// whose `Derived::on_response(caf::type_erased_tuple&)` sees the message.
///
/// F1 (CAF 0.17.6, `scheduled_actor::invoke_mailbox_element` and
/// `add_multiplexed_response_handler`): a message whose id is the response
/// id a handler is registered under runs through that handler, whatever the
/// actor's behaviour (event-based, stateful or typed). CAF erases the handler
/// just before it runs, keeps a reference to it during the call, and drops
/// it without running it when the actor exits. Calling the visitor with no
/// argument (`f()`) tells CAF the message was consumed (no reply).
template <class Derived>
class response_handler : public caf::detail::behavior_impl {
 public:
  caf::match_case::result invoke(caf::detail::invoke_result_visitor& f,
                                 caf::type_erased_tuple& xs) final {
    f(); // consumed, nothing to reply
    static_cast<Derived*>(this)->on_response(xs);
    return caf::match_case::match;
  }
};

/// Registers `h` as `self`'s handler of the response id `rid` (F1). Actor
/// context only. Calling it from inside `h`'s own invocation re-registers
/// `h` for the next message with the same id at the cost of one reference
/// count increment.
template <class Handler>
void add_response_handler(caf::scheduled_actor* self, caf::message_id rid,
                          caf::intrusive_ptr<Handler> h) {
  self->add_multiplexed_response_handler(
      rid, caf::behavior{caf::behavior::impl_ptr{std::move(h)}});
}

// -- F2: self-delivery --------------------------------------------------------

/// Puts a message with id `mid` and no sender at the end of `self`'s own
/// mailbox. Actor context only.
///
/// F2 (CAF 0.17.6, `local_actor::eq_impl`): `eq_impl` enqueues like a send
/// to oneself but keeps the given message id, so an error posted under a
/// pending response id reaches the handler of that id (F1) as if the
/// request had failed; passing `self->context()` keeps the actor on its
/// current worker. Used to cancel and time out waits without a round trip.
template <class... Ts>
void post_to_self(caf::scheduled_actor* self, caf::message_id mid, Ts&&... xs) {
  self->eq_impl(mid, nullptr, self->context(), std::forward<Ts>(xs)...);
}

// -- F3: execution-unit swapping ----------------------------------------------

/// An execution unit that collects the actors which sends from its actor
/// make runnable, and hands them to the real unit on `flush` (at the
/// latest when destroyed). Never allocates once constructed.
///
/// F3 (CAF 0.17.6, `scheduled_actor::enqueue`): when a message makes an idle
/// actor runnable, CAF calls `exec_later` on the execution unit the sender
/// passed to `enqueue`, which `send` takes from the sender's `context()`;
/// `local_actor::context(unit)` replaces that unit, and `proxy_registry_ptr`
/// must be copied for sends that serialize.
class deferring_unit final : public caf::execution_unit {
 public:
  deferring_unit(caf::execution_unit* real, std::size_t capacity)
      : caf::execution_unit(&real->system()), real_(real) {
    proxy_registry_ptr(real->proxy_registry_ptr());
    jobs_.reserve(capacity);
  }

  deferring_unit(const deferring_unit&) = delete;
  deferring_unit& operator=(const deferring_unit&) = delete;

  ~deferring_unit() override { flush(); }

  void exec_later(caf::resumable* ptr) override {
    // Never allocate here (CAF cannot handle a throw at this point).
    if (jobs_.size() < jobs_.capacity())
      jobs_.push_back(ptr);
    else
      real_->exec_later(ptr);
  }

  /// Returns how many runnable actors wait for `flush`.
  [[nodiscard]] std::size_t deferred() const noexcept { return jobs_.size(); }

  /// Schedules every collected actor on the real unit.
  void flush() noexcept {
    for (auto* ptr : jobs_)
      real_->exec_later(ptr);
    jobs_.clear();
  }

 private:
  caf::execution_unit* real_;
  std::vector<caf::resumable*> jobs_;
};

/// Returns `self`'s current execution unit (null outside a resume).
inline caf::execution_unit* unit_of(caf::local_actor* self) noexcept {
  return self->context();
}

/// Makes `unit` the execution unit of `self`'s sends (F3).
inline void use_unit(caf::local_actor* self, caf::execution_unit* unit) {
  self->context(unit);
}

// -- F5: requests to dead actors ---------------------------------------------

// F5 (CAF 0.17.6, `local_actor` mailbox closing and `abstract_actor::enqueue`
// on a terminated actor): a request (a message with a request id and a
// sender) that reaches an actor which has exited, or is still in its
// mailbox when it exits, bounces to the sender as `sec::request_receiver_down`
// under the request's response id. `map_reply_error` (scope.hpp) turns it
// into `errc::target_down`; nothing else tells an ask that its target died.

// -- F4, F6, F7: out of line, in caf_internals.cpp ----------------------------

/// Returns the deterministic scheduler of `sys`.
///
/// F4 (CAF 0.17.6, `actor_system` constructor): with `scheduler.policy` set
/// to `testing`, `sys.scheduler()` is a `caf::scheduler::test_coordinator`.
/// Precondition: `sys` was configured so.
caf::scheduler::test_coordinator& test_coordinator_of(caf::actor_system& sys);

/// Runs every job of the deterministic scheduler of `sys` until none is
/// left (F4); returns how many ran. Precondition: as `test_coordinator_of`.
std::size_t run_testing_scheduler(caf::actor_system& sys);

/// Names the calling thread (truncated to 15 characters on Linux).
///
/// F6 (CAF 0.17.6, `caf::detail::set_thread_name`): names the thread the
/// same way CAF names its own ("caf.multiplexer", "caf.clock").
void name_this_thread(const char* name) noexcept;

/// Returns the middleman's BASP broker, creating it if needed.
///
/// F7 (CAF 0.17.6, `middleman::named_broker`): the broker that carries
/// every remote message is created on demand under the name "BASP" and is
/// the same actor on every later call. Precondition: `sys` loaded the
/// middleman.
caf::actor basp_broker_of(caf::actor_system& sys);

/// Re-registers the handler `impl` (a `caf::behavior`'s implementation, see
/// `handler_impl`) under `rid` (F1). Used by detail::rearmable_handler,
/// whose header stays free of `caf::detail`.
void readd_response_handler(caf::scheduled_actor* self, caf::message_id rid,
                            caf::ref_counted* impl);

/// Returns the implementation of `bhvr` as an opaque pointer for
/// `readd_response_handler`.
caf::ref_counted* handler_impl(const caf::behavior& bhvr) noexcept;

} // namespace coactor::detail
