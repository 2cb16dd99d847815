// Internals: a multiplexed response handler that stays registered in its
// actor across calls (used by bridges and timers).
#pragma once

#include <caf/behavior.hpp>
#include <caf/message_id.hpp>
#include <caf/message_priority.hpp>
#include <caf/ref_counted.hpp>
#include <caf/scheduled_actor.hpp>

namespace coactor::detail {

// Declared in caf_internals.hpp (the CAF fence), defined in
// caf_internals.cpp; repeated here so that bridges need no CAF internals.
caf::ref_counted* handler_impl(const caf::behavior& bhvr) noexcept;
void readd_response_handler(caf::scheduled_actor* self, caf::message_id rid,
                            caf::ref_counted* impl);

/// A private response id of one actor plus the handler registered under it.
///
/// CAF 0.17.6 runs a message whose id is a pending response id of the
/// receiving actor through the handler registered with
/// `add_multiplexed_response_handler`, whatever the actor's behaviour is
/// (event-based, stateful or typed), and erases that handler just before it
/// runs. A handler that wants to see the next message with the same id puts
/// itself back from inside its own invocation (`rearm`): CAF keeps the
/// behaviour object alive during the call, so re-registering it costs one
/// reference count increment and no allocation.
///
/// The registration goes through the CAF fence (fact F1 of
/// caf_internals.hpp, out of line in caf_internals.cpp), so that this header
/// and bridge.hpp stay free of `caf::detail`.
///
/// Threading: every member function runs in the owning actor's context only.
class rearmable_handler {
 public:
  /// Allocates a fresh response id on `self`.
  explicit rearmable_handler(caf::scheduled_actor* self)
      : mid_(
          self->new_request_id(caf::message_priority::normal).response_id()) {}

  /// The response id that messages for this handler carry.
  [[nodiscard]] caf::message_id mid() const noexcept { return mid_; }

  /// Registers `bhvr` under `mid()` and remembers it for `rearm`.
  void arm(caf::scheduled_actor* self, caf::behavior bhvr) {
    impl_ = handler_impl(bhvr);
    readd_response_handler(self, mid_, impl_); // bhvr's reference goes away
  }

  /// Registers the handler again. Precondition: called from inside the
  /// handler's own invocation (CAF holds a reference to it there).
  void rearm(caf::scheduled_actor* self) {
    readd_response_handler(self, mid_, impl_);
  }

 private:
  caf::message_id mid_;
  // Non-owning: CAF's handler map (or the running invocation) owns it.
  caf::ref_counted* impl_ = nullptr;
};

} // namespace coactor::detail
