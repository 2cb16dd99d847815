// Internals: the cancellation and lifetime scope of a chain of nested tasks,
// and the base of every suspension point that waits for a message.
#pragma once

#include <coroutine>
#include <cstddef>
#include <utility>

#include <caf/intrusive_ptr.hpp>
#include <caf/message_id.hpp>
#include <caf/ref_counted.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>

#include "coactor/detail/ask_stats.hpp"
#include "coactor/detail/caf_internals.hpp"
#include "coactor/error.hpp"

namespace coactor::detail {

class join_base;

/// Receives the end of a task that nobody awaits with `co_await` (a root task
/// or a child of a join). Called from the task's final suspension point.
class completion {
 public:
  /// Returns the coroutine to transfer to (or `std::noop_coroutine()`).
  virtual std::coroutine_handle<> on_done() noexcept = 0;

 protected:
  ~completion() = default;
};

/// The scope of one chain of nested tasks: a root task started in an actor,
/// or one child of `when_all`/`when_any`. Holds the actor, the cancellation
/// flag and what the chain is suspended on. Reference counted: every pending
/// wait of the chain holds a reference, a child scope holds its parent, and
/// a root scope owns the root frame, so a tree of frames lives exactly as
/// long as something can still resume it. Actor context only.
class scope : public caf::ref_counted {
 public:
  scope(caf::scheduled_actor* self, caf::intrusive_ptr<scope> parent) noexcept
      : self_(self), parent_(std::move(parent)) {
    if (parent_ != nullptr) {
      cancelled_ = parent_->cancelled_;
      ask_stats_ = parent_->ask_stats_;
    } else {
      ask_stats_ = ask_stats_of(self->home_system());
    }
  }

  [[nodiscard]] caf::scheduled_actor* self() const noexcept { return self_; }

  /// Returns where the chain's asks are counted, or null (metrics off, or
  /// not a coactor node). Looked up once per root task.
  [[nodiscard]] ask_stats* asks() const noexcept { return ask_stats_; }

  [[nodiscard]] bool cancelled() const noexcept { return cancelled_; }

  /// Returns whether a new await must complete at once with
  /// `errc::cancelled`: the chain was cancelled, or the actor is quitting
  /// (a wait registered now would outlive the actor's state).
  [[nodiscard]] bool stopped() const noexcept {
    return cancelled_
           || self_->getf(caf::abstract_actor::is_shutting_down_flag);
  }

  /// Cancels the chain: the pending wait (if any) completes with
  /// `errc::cancelled` through a message to the actor, every child of a
  /// pending join is cancelled, and every later await of the chain completes
  /// at once with `errc::cancelled`.
  void cancel();

  /// Marks the chain as suspended on the response id `rid`.
  void suspend_on(caf::message_id rid) noexcept {
    pending_ = rid;
    has_pending_ = true;
  }

  /// Marks the chain as running again.
  void resumed() noexcept { has_pending_ = false; }

  /// Marks the chain as suspended on a join (or not, for `nullptr`).
  void join(join_base* j) noexcept { join_ = j; }

 private:
  caf::scheduled_actor* self_;
  caf::intrusive_ptr<scope> parent_;
  join_base* join_ = nullptr;
  ask_stats* ask_stats_ = nullptr;
  caf::message_id pending_;
  bool has_pending_ = false;
  bool cancelled_ = false;
};

/// A join (`when_all`, `when_any`) whose children a cancellation reaches.
class join_base {
 public:
  virtual void cancel_children() = 0;

 protected:
  ~join_base() = default;
};

inline void scope::cancel() {
  if (cancelled_)
    return;
  cancelled_ = true;
  if (has_pending_) {
    // Resume through the mailbox, never inline: the canceller may be in the
    // middle of another coroutine step of this actor.
    post_to_self(self_, pending_, make_error(errc::cancelled));
  }
  if (join_ != nullptr)
    join_->cancel_children();
}

/// Returns whether `err` is CAF's `sec::request_timeout`.
inline bool is_request_timeout(const caf::error& err) noexcept {
  return err.category() == caf::atom("system")
         && err.code() == static_cast<uint8_t>(caf::sec::request_timeout);
}

/// Maps CAF's errors for a reply to coactor's: a request timeout becomes
/// `errc::timeout`, a dead receiver `errc::target_down` (fact F5 of
/// caf_internals.hpp), a reply of the
/// wrong type `errc::unexpected_reply`; `what` names the operation.
inline caf::error map_reply_error(caf::error err, const char* what) {
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout: return make_error(errc::timeout, what);
      case caf::sec::request_receiver_down:
        return make_error(errc::target_down, what);
      case caf::sec::unexpected_response:
        return make_error(errc::unexpected_reply, what);
      default: break;
    }
  }
  return err;
}

/// A suspension point waiting for one message with a given response id: a
/// response handler (fact F1 of caf_internals.hpp), so that it runs in the
/// actor's context whatever the actor's behaviour is. CAF drops it (without
/// running it) when the actor exits, which releases the scope and with it
/// the suspended frames. Only the first message counts; CAF discards later
/// ones with the same id.
class wait_base : public response_handler<wait_base> {
 public:
  wait_base(caf::intrusive_ptr<scope> s, std::coroutine_handle<> h) noexcept
      : scope_(std::move(s)), handle_(h) {}

  /// Called by response_handler with the message.
  void on_response(caf::type_erased_tuple& xs) {
    auto s = std::move(scope_); // keeps the frames alive during the resume
    if (s == nullptr)
      return;
    s->resumed();
    if (s->cancelled())
      set_error(make_error(errc::cancelled));
    else
      on_message(xs);
    handle_.resume();
  }

 protected:
  /// Stores the outcome for the awaiter (the frame is alive).
  virtual void on_message(caf::type_erased_tuple& xs) = 0;

  /// Stores an error for the awaiter.
  virtual void set_error(caf::error err) = 0;

  /// Returns the error in `xs` if `xs` holds exactly one `caf::error`.
  static const caf::error* error_in(caf::type_erased_tuple& xs) noexcept {
    if (xs.size() == 1 && xs.match_element<caf::error>(0))
      return &xs.get_as<caf::error>(0);
    return nullptr;
  }

 private:
  caf::intrusive_ptr<scope> scope_;
  std::coroutine_handle<> handle_;
};

/// Registers `w` as the handler of `rid` (a response id) and marks its scope
/// suspended on it.
inline void register_wait(caf::scheduled_actor* self, scope* s,
                          caf::message_id rid,
                          caf::intrusive_ptr<wait_base> w) {
  add_response_handler(self, rid, std::move(w));
  s->suspend_on(rid);
}

/// Asks the actor's clock for a `sec::request_timeout` error at `rid` after
/// `d`; `timespan::max()` means never. A zero or negative `d` posts it now.
inline void arm_timeout(caf::scheduled_actor* self, caf::message_id request_id,
                        caf::timespan d) {
  if (d == caf::timespan::max())
    return;
  if (d <= caf::timespan::zero()) {
    post_to_self(self, request_id.response_id(),
                 caf::make_error(caf::sec::request_timeout));
    return;
  }
  self->request_response_timeout(caf::duration{d}, request_id);
}

} // namespace coactor::detail
