// Internals: when_all / when_any over a vector of asks, without a coroutine
// frame per item: each reply completes its slot directly.
#pragma once

#include <coroutine>
#include <cstddef>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/detail/behavior_impl.hpp>
#include <caf/expected.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/make_counted.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/ask.hpp"
#include "coactor/detail/join.hpp"
#include "coactor/detail/scope.hpp"
#include "coactor/error.hpp"

namespace coactor::detail {

/// Receives the reply (or error) of one item of an ask batch.
template <class R>
class batch_sink {
 public:
  virtual void item_done(std::size_t i, caf::type_erased_tuple& xs) = 0;

 protected:
  ~batch_sink() = default;
};

/// Waits for the reply to one item of a batch; holds the scope (and with it
/// the frame that holds the batch).
template <class R>
class batch_wait final : public caf::detail::behavior_impl {
 public:
  batch_wait(caf::intrusive_ptr<scope> s, batch_sink<R>* owner,
             std::size_t i) noexcept
      : scope_(std::move(s)), owner_(owner), index_(i) {}

  caf::match_case::result invoke(caf::detail::invoke_result_visitor& f,
                                 caf::type_erased_tuple& xs) override {
    f();
    auto s = std::move(scope_); // keeps the frames alive during a resume
    if (s != nullptr)
      owner_->item_done(index_, xs);
    return caf::match_case::match;
  }

 private:
  caf::intrusive_ptr<scope> scope_;
  batch_sink<R>* owner_;
  std::size_t index_;
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
    parent_ = h;
    auto n = asks_.size();
    results_.reserve(n);
    items_.resize(n);
    remaining_ = n;
    auto sp = caf::intrusive_ptr<scope>{scope_};
    for (std::size_t i = 0; i < n; ++i) {
      auto& a = asks_[i];
      auto& it = items_[i];
      if (scope_->stopped()) {
        results_.emplace_back(make_error(errc::cancelled, "ask"));
      } else if (a.target() == nullptr) {
        results_.emplace_back(
            make_error(errc::target_down, "ask: invalid target handle"));
      } else {
        results_.emplace_back(caf::error{}); // set by item_done
        auto req = self_->new_request_id(caf::message_priority::normal);
        it.rid = req.response_id();
        it.pending = true;
        self_->add_multiplexed_response_handler(
            it.rid,
            caf::behavior{caf::intrusive_ptr<caf::detail::behavior_impl>{
                caf::make_counted<batch_wait<R>>(sp, this, i)}});
        arm_timeout(self_, req, a.timeout());
        a.send(req);
        continue;
      }
      // completed at once
      it.done = true;
      --remaining_;
      if (any_ && winner_ == npos)
        winner_ = i;
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
    for (auto& it : items_) {
      if (it.pending && !it.cancelled) {
        it.cancelled = true;
        self_->eq_impl(it.rid, nullptr, self_->context(),
                       make_error(errc::cancelled));
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

 protected:
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

  struct item {
    caf::message_id rid;
    bool pending = false;
    bool done = false;
    bool cancelled = false;
    bool timed_out = false;
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
};

} // namespace coactor::detail
