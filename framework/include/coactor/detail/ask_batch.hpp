// Internals: when_all / when_any over a vector of asks, without a coroutine
// frame per item: each reply completes its slot directly.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/make_counted.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/ask.hpp"
#include "coactor/detail/caf_internals.hpp"
#include "coactor/detail/join.hpp"
#include "coactor/detail/scope.hpp"
#include "coactor/error.hpp"

namespace coactor::detail {

/// Whether batches of asks to distinct local targets go out under one
/// request id (the default). Benchmarks switch it off to measure the
/// one-handler-per-request path in the same run; set it before the batches
/// start.
inline std::atomic<bool> share_batch_ids{true};

/// Receives the reply (or error) of one item of an ask batch.
template <class R>
class batch_sink {
 public:
  virtual void item_done(std::size_t i, caf::type_erased_tuple& xs) = 0;

  /// Handles one message under the batch's shared request id; returns
  /// whether the shared handler must stay registered.
  virtual bool batch_message(caf::type_erased_tuple& xs) = 0;

 protected:
  ~batch_sink() = default;
};

/// Waits for the reply to one item of a batch; holds the scope (and with it
/// the frame that holds the batch).
template <class R>
class batch_wait final : public response_handler<batch_wait<R>> {
 public:
  batch_wait(caf::intrusive_ptr<scope> s, batch_sink<R>* owner,
             std::size_t i) noexcept
      : scope_(std::move(s)), owner_(owner), index_(i) {}

  /// Called by response_handler with the reply.
  void on_response(caf::type_erased_tuple& xs) {
    auto s = std::move(scope_); // keeps the frames alive during a resume
    if (s != nullptr)
      owner_->item_done(index_, xs);
  }

 private:
  caf::intrusive_ptr<scope> scope_;
  batch_sink<R>* owner_;
  std::size_t index_;
};

/// The single handler of a batch sent under one request id: CAF erases it
/// before each call, so it registers itself again while replies are
/// outstanding (see rearm.hpp). Holds the scope (and with it the frame that
/// holds the batch) until the batch ends.
template <class R>
class shared_batch_wait final : public response_handler<shared_batch_wait<R>> {
 public:
  shared_batch_wait(caf::intrusive_ptr<scope> s, batch_sink<R>* owner,
                    caf::scheduled_actor* self, caf::message_id rid) noexcept
      : scope_(std::move(s)), owner_(owner), self_(self), rid_(rid) {}

  /// Called by response_handler with one reply of the batch.
  void on_response(caf::type_erased_tuple& xs) {
    auto s = scope_; // keeps the frames alive during a resume
    if (s == nullptr)
      return;
    if (owner_->batch_message(xs))
      add_response_handler(self_, rid_,
                           caf::intrusive_ptr<shared_batch_wait>{this});
    else
      scope_ = nullptr;
  }

 private:
  caf::intrusive_ptr<scope> scope_;
  batch_sink<R>* owner_;
  caf::scheduled_actor* self_;
  caf::message_id rid_;
};

/// The engine of `when_all`/`when_any` over `std::vector<ask_awaitable>`.
template <class R, class... Ts>
class ask_batch : public timed_join, public batch_sink<R> {
 public:
  static constexpr std::size_t npos = join::npos;

  ask_batch(std::vector<ask_awaitable<R, Ts...>> asks, caf::timespan timeout,
            bool any)
      : asks_(std::move(asks)), timeout_(timeout), any_(any) {}

  ask_batch(const ask_batch&) = delete;
  ask_batch& operator=(const ask_batch&) = delete;

  ~ask_batch() {
    if (timer_ != nullptr)
      timer_->join_ = nullptr;
  }

  bool await_ready() const noexcept { return asks_.empty(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    scope_ = h.promise().scope();
    self_ = scope_->self();
    if ((stats_ = scope_->asks()) != nullptr)
      started_ = now_ = std::chrono::steady_clock::now();
    parent_ = h;
    auto n = asks_.size();
    results_.reserve(n);
    items_.resize(n);
    remaining_ = n;
    auto sp = caf::intrusive_ptr<scope>{scope_};
    shared_ = can_share();
    caf::message_id shared_req;
    if (shared_) {
      shared_req = self_->new_request_id(caf::message_priority::normal);
      shared_rid_ = shared_req.response_id();
    }
    for (std::size_t i = 0; i < n; ++i) {
      auto& a = asks_[i];
      auto& it = items_[i];
      if (scope_->stopped()) {
        results_.emplace_back(make_error(errc::cancelled, "ask"));
      } else if (a.target() == nullptr) {
        results_.emplace_back(
            make_error(errc::target_down, "ask: invalid target handle"));
      } else if (shared_) {
        results_.emplace_back(caf::error{}); // set by batch_message
        it.rid = shared_rid_;
        it.pending = true;
        continue;
      } else {
        results_.emplace_back(caf::error{}); // set by item_done
        auto req = self_->new_request_id(caf::message_priority::normal);
        it.rid = req.response_id();
        it.pending = true;
        add_response_handler(self_, it.rid,
                             caf::make_counted<batch_wait<R>>(sp, this, i));
        arm_timeout(self_, req, a.timeout());
        a.send(req);
        continue;
      }
      // completed at once
      it.done = true;
      --remaining_;
      count(i);
      if (any_ && winner_ == npos)
        winner_ = i;
    }
    if (shared_ && remaining_ > 0) {
      // One handler and one clock entry for the whole batch; replies are
      // told apart by their sender (the targets are distinct and local).
      add_response_handler(self_, shared_rid_,
                           caf::make_counted<shared_batch_wait<R>>(
                               sp, this, self_, shared_rid_));
      arm_timeout(self_, shared_req, asks_.front().timeout());
      for (auto& a : asks_)
        if (a.target() != nullptr)
          a.send(shared_req);
    }
    if (remaining_ == 0)
      return false;
    if (any_ && winner_ != npos)
      cancel_children();
    scope_->join(this);
    if (timeout_ != caf::timespan::max())
      std::tie(timer_, timer_rid_) = arm_join_timer(self_, this, timeout_);
    return true;
  }

  void item_done(std::size_t i, caf::type_erased_tuple& xs) override {
    tick();
    auto& it = items_[i];
    it.pending = false;
    it.done = true;
    if (it.timed_out)
      results_[i] = make_error(errc::timeout, "when_all: item still running "
                                              "at the overall timeout");
    else if (it.cancelled || scope_->cancelled())
      results_[i] = make_error(errc::cancelled, "ask");
    else
      read_reply(xs, results_[i]);
    count(i);
    if (any_ && winner_ == npos && !it.timed_out && !it.cancelled) {
      winner_ = i;
      cancel_children();
    }
    if (--remaining_ == 0) {
      scope_->join(nullptr);
      disarm_join_timer(self_, timer_, timer_rid_);
      parent_.resume();
    }
  }

  void cancel_children() override {
    if (shared_) {
      // One message ends the shared handler; it completes every pending
      // slot (cancelled, or timeout for the slots marked timed_out).
      if (!shared_cancel_sent_ && remaining_ > 0) {
        shared_cancel_sent_ = true;
        for (auto& it : items_)
          if (it.pending)
            it.cancelled = true;
        post_to_self(self_, shared_rid_, make_error(errc::cancelled));
      }
      return;
    }
    for (auto& it : items_) {
      if (it.pending && !it.cancelled) {
        it.cancelled = true;
        post_to_self(self_, it.rid, make_error(errc::cancelled));
      }
    }
  }

  void on_timeout() override {
    timer_ = nullptr;
    for (auto& it : items_)
      if (!it.done)
        it.timed_out = true;
    cancel_children();
  }

  bool batch_message(caf::type_erased_tuple& xs) override {
    tick();
    auto* el = self_->current_mailbox_element();
    auto* sender = el != nullptr ? el->sender.get() : nullptr;
    const caf::error* err = nullptr;
    if (xs.size() == 1 && xs.match_element<caf::error>(0))
      err = &xs.get_as<caf::error>(0);
    // The clock sends the request timeout as from `self` (never a target).
    if (sender == self_->ctrl())
      sender = nullptr;
    if (sender != nullptr) {
      auto pos = by_sender_.find(sender);
      if (pos == by_sender_.end()) {
        ++strays_; // e.g. a delegated request answered by another actor
      } else if (auto& it = items_[pos->second]; it.pending) {
        complete(pos->second, xs);
      } else if (it.guessed_down) {
        // The bounce given to this slot belonged to another dead target.
        it.guessed_down = false;
        ++downs_;
        complete_reply(pos->second, xs);
      } // else: a late reply for a finished slot
    } else if (err != nullptr && is_receiver_down(*err)) {
      // CAF bounces a request to a dead actor without a sender: give it to
      // a pending slot whose target has terminated, or count it until the
      // remaining slots are all accounted for.
      auto i = find_dead_pending();
      if (i != npos) {
        items_[i].guessed_down = true;
        finish_slot(i, make_error(errc::target_down, "ask"));
      } else {
        ++downs_;
      }
    } else if (err != nullptr) {
      // Our cancellation, the batch's request timeout, or another error
      // without a sender: it ends every pending slot.
      for (std::size_t i = 0; i < items_.size(); ++i) {
        auto& it = items_[i];
        if (!it.pending)
          continue;
        if (it.timed_out)
          finish_slot(i, make_error(errc::timeout,
                                    "when_all: item still running at the "
                                    "overall timeout"));
        else if (it.cancelled || scope_->cancelled())
          finish_slot(i, make_error(errc::cancelled, "ask"));
        else if (downs_ > 0 && is_dead(i)) {
          --downs_;
          finish_slot(i, make_error(errc::target_down, "ask"));
        } else
          finish_slot(i, map_reply_error(*err, "ask"));
      }
    } else {
      ++strays_;
    }
    if (remaining_ > 0 && remaining_ == downs_ + strays_)
      settle_unattributed();
    // when_any: the first slot this message ended wins (as with one handler
    // per ask, an error reply or a bounce wins too); one message cancels
    // the others.
    if (any_ && winner_ == npos) {
      for (std::size_t i = 0; i < items_.size(); ++i) {
        auto& it = items_[i];
        if (it.done && !it.timed_out && !it.cancelled) {
          winner_ = i;
          break;
        }
      }
      if (winner_ != npos && remaining_ > 0)
        cancel_children();
    }
    if (remaining_ > 0)
      return true;
    scope_->join(nullptr);
    disarm_join_timer(self_, timer_, timer_rid_);
    parent_.resume(); // may destroy *this
    return false;
  }

 protected:
  static bool is_receiver_down(const caf::error& err) noexcept {
    return err.category() == caf::atom("system")
           && err.code()
                  == static_cast<uint8_t>(caf::sec::request_receiver_down);
  }

  /// Whether the batch may go out under one request id: more than one
  /// item, all targets local, distinct and other than `self`, one timeout
  /// for all (a batch that is not gets one request id per item).
  bool can_share() {
    if (asks_.size() < 2 || scope_->stopped()
        || !share_batch_ids.load(std::memory_order_relaxed))
      return false;
    by_sender_.reserve(asks_.size());
    auto t = asks_.front().timeout();
    for (std::size_t i = 0; i < asks_.size(); ++i) {
      auto& a = asks_[i];
      if (a.timeout() != t)
        return give_up_sharing();
      if (a.target() == nullptr)
        continue;
      if (a.target()->node() != self_->node()
          || a.target().get() == self_->ctrl()
          || !by_sender_.emplace(a.target().get(), i).second)
        return give_up_sharing();
    }
    return true;
  }

  bool give_up_sharing() {
    by_sender_.clear();
    return false;
  }

  bool is_dead(std::size_t i) const {
    auto* p = asks_[i].target()->get();
    return p->getf(caf::abstract_actor::is_terminated_flag);
  }

  std::size_t find_dead_pending() const {
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (items_[i].pending && is_dead(i))
        return i;
    return npos;
  }

  /// Every pending slot got a message we could not attribute (bounces of
  /// dead targets, replies from other actors): end them all.
  void settle_unattributed() {
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (!items_[i].pending)
        continue;
      if (strays_ == 0 || (downs_ > 0 && is_dead(i)))
        finish_slot(i, make_error(errc::target_down, "ask"));
      else
        finish_slot(i, make_error(errc::unexpected_reply,
                                  "ask: the reply came from an actor other "
                                  "than the target (delegated request in a "
                                  "batch)"));
    }
    downs_ = strays_ = 0;
  }

  void finish_slot(std::size_t i, caf::error err) {
    auto& it = items_[i];
    it.pending = false;
    it.done = true;
    results_[i] = std::move(err);
    --remaining_;
    count(i);
  }

  void complete(std::size_t i, caf::type_erased_tuple& xs) {
    auto& it = items_[i];
    it.pending = false;
    it.done = true;
    --remaining_;
    complete_reply(i, xs);
    count(i);
  }

  void complete_reply(std::size_t i, caf::type_erased_tuple& xs) {
    auto& it = items_[i];
    if (it.timed_out)
      results_[i] = make_error(errc::timeout, "when_all: item still running "
                                              "at the overall timeout");
    else if (it.cancelled || scope_->cancelled())
      results_[i] = make_error(errc::cancelled, "ask");
    else
      read_reply(xs, results_[i]);
  }

  static void read_reply(caf::type_erased_tuple& xs, caf::expected<R>& out) {
    if (xs.size() == 1 && xs.match_element<caf::error>(0)) {
      out = map_reply_error(xs.get_as<caf::error>(0), "ask");
      return;
    }
    if (!reply_reader<R>::read(xs, out))
      out = make_error(errc::unexpected_reply,
                       "ask: reply " + xs.stringify()
                           + " does not match the expected type");
  }

  /// Notes the time of the message being handled (for `count`).
  void tick() noexcept {
    if (stats_ != nullptr)
      now_ = std::chrono::steady_clock::now();
  }

  /// Counts slot `i`, which ended at the last `tick`, in the node's asks.
  void count(std::size_t i) noexcept {
    if (stats_ != nullptr)
      record_ask(*stats_, now_ - started_,
                 results_[i] ? nullptr : &results_[i].error());
  }

  struct item {
    caf::message_id rid;
    bool pending = false;
    bool done = false;
    bool cancelled = false;
    bool timed_out = false;
    bool guessed_down = false; // shared id: a bounce attributed by guess
  };

  std::vector<ask_awaitable<R, Ts...>> asks_;
  std::vector<caf::expected<R>> results_;
  std::vector<item> items_;
  std::size_t remaining_ = 0;
  std::size_t winner_ = npos;
  caf::timespan timeout_;
  bool any_;
  scope* scope_ = nullptr;
  caf::scheduled_actor* self_ = nullptr;
  std::coroutine_handle<> parent_;
  caf::intrusive_ptr<join_timer> timer_;
  caf::message_id timer_rid_;
  // The shared-request-id mode (see can_share).
  bool shared_ = false;
  bool shared_cancel_sent_ = false;
  caf::message_id shared_rid_;
  std::unordered_map<caf::actor_control_block*, std::size_t> by_sender_;
  std::size_t downs_ = 0;  // bounces not yet given to a slot
  std::size_t strays_ = 0; // replies from actors that are no target
  // The node's ask figures (null: not counted) and the batch's clock.
  ask_stats* stats_ = nullptr;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point now_;
};

} // namespace coactor::detail
