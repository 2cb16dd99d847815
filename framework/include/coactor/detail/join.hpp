// Internals: runs the children of when_all/when_any concurrently, each in its
// own cancellation scope, and resumes the parent when all have ended.
#pragma once

#include <coroutine>
#include <cstddef>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/intrusive_ptr.hpp>
#include <caf/make_counted.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/detail/caf_internals.hpp"
#include "coactor/detail/scope.hpp"
#include "coactor/detail/task_promise.hpp"
#include "coactor/task.hpp"

namespace coactor::detail {

/// A join with an overall timeout.
class timed_join : public join_base {
 public:
  virtual void on_timeout() = 0;

 protected:
  ~timed_join() = default;
};

/// The overall timeout of a join: a multiplexed response handler that holds
/// only a pointer to the join, cleared when the join ends first.
class join_timer final : public response_handler<join_timer> {
 public:
  explicit join_timer(timed_join* j) noexcept : join_(j) {}

  /// Called by response_handler with the timeout (or cancellation).
  void on_response(caf::type_erased_tuple&) {
    if (auto j = std::exchange(join_, nullptr))
      j->on_timeout();
  }

  timed_join* join_;
};

/// Arms a join timer for `j` after `d`; returns it and its response id.
inline std::pair<caf::intrusive_ptr<join_timer>, caf::message_id>
arm_join_timer(caf::scheduled_actor* self, timed_join* j, caf::timespan d) {
  auto req = self->new_request_id(caf::message_priority::normal);
  auto timer = caf::make_counted<join_timer>(j);
  add_response_handler(self, req.response_id(), timer);
  arm_timeout(self, req, d);
  return {std::move(timer), req.response_id()};
}

/// Releases a join timer's handler and clock entry now rather than at the
/// deadline.
inline void disarm_join_timer(caf::scheduled_actor* self,
                              caf::intrusive_ptr<join_timer>& timer,
                              caf::message_id rid) {
  if (timer == nullptr)
    return;
  timer->join_ = nullptr;
  timer = nullptr;
  self->clock().cancel_request_timeout(self, rid);
  post_to_self(self, rid, make_error(errc::cancelled));
}

/// The shared engine of `when_all` and `when_any` (actor context only).
class join final : public timed_join {
 public:
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

  struct child {
    promise_base* promise;
    std::coroutine_handle<> handle;
  };

  explicit join(bool any) noexcept : any_(any) {}

  join(const join&) = delete;
  join& operator=(const join&) = delete;

  ~join() {
    if (timer_ != nullptr)
      timer_->join_ = nullptr;
  }

  /// Starts every child (each runs until its first suspension) and returns
  /// whether the parent must suspend.
  bool start(scope* ps, std::coroutine_handle<> parent,
             const std::vector<child>& kids, caf::timespan timeout) {
    self_ = ps->self();
    parent_scope_ = ps;
    parent_ = parent;
    slots_.resize(kids.size());
    remaining_ = kids.size() + 1;
    ps->join(this);
    for (std::size_t i = 0; i < kids.size(); ++i) {
      auto& sl = slots_[i];
      sl.owner = this;
      sl.index = i;
      if (!kids[i].handle) { // an empty task: its result says so
        sl.finished = true;
        --remaining_;
        continue;
      }
      auto cs = caf::make_counted<scope>(self_, caf::intrusive_ptr<scope>{ps});
      if (stop_children_)
        cs->cancel();
      sl.s = cs.get();
      kids[i].promise->start_detached(cs.get(), &sl);
      kids[i].handle.resume();
    }
    if (remaining_ > 1 && timeout != caf::timespan::max()) {
      auto req = self_->new_request_id(caf::message_priority::normal);
      timer_rid_ = req.response_id();
      timer_ = caf::make_counted<join_timer>(this);
      add_response_handler(self_, timer_rid_, timer_);
      arm_timeout(self_, req, timeout);
    }
    if (--remaining_ == 0) {
      finish();
      return false;
    }
    return true;
  }

  void cancel_children() override {
    stop_children_ = true;
    for (auto& sl : slots_)
      if (!sl.finished && sl.s != nullptr)
        sl.s->cancel();
  }

  void on_timeout() override {
    timer_ = nullptr;
    for (auto& sl : slots_)
      if (!sl.finished)
        sl.timed_out = true;
    cancel_children();
  }

  /// The first child to end (`when_any`), or `npos`.
  [[nodiscard]] std::size_t winner() const noexcept { return winner_; }

  /// Whether child `i` was still running at the overall timeout.
  [[nodiscard]] bool timed_out(std::size_t i) const noexcept {
    return slots_[i].timed_out;
  }

 private:
  struct slot final : completion {
    join* owner = nullptr;
    std::size_t index = 0;
    scope* s = nullptr;
    bool finished = false;
    bool timed_out = false;

    std::coroutine_handle<> on_done() noexcept override {
      return owner->child_done(index);
    }
  };

  std::coroutine_handle<> child_done(std::size_t i) noexcept {
    auto& sl = slots_[i];
    sl.s = nullptr;
    sl.finished = true;
    if (any_ && winner_ == npos && !sl.timed_out) {
      winner_ = i;
      cancel_children();
    }
    if (--remaining_ == 0) {
      finish();
      return parent_;
    }
    return std::noop_coroutine();
  }

  void finish() noexcept {
    parent_scope_->join(nullptr);
    disarm_join_timer(self_, timer_, timer_rid_);
  }

  std::vector<slot> slots_;
  std::size_t remaining_ = 0;
  std::size_t winner_ = npos;
  caf::scheduled_actor* self_ = nullptr;
  scope* parent_scope_ = nullptr;
  std::coroutine_handle<> parent_;
  caf::intrusive_ptr<join_timer> timer_;
  caf::message_id timer_rid_;
  bool any_;
  bool stop_children_ = false;
};

template <class T>
struct expected_value;

template <class R>
struct expected_value<caf::expected<R>> {
  using type = R;
};

template <class A>
using awaitable_value_t =
    typename expected_value<decltype(std::declval<A&>().await_resume())>::type;

/// Wraps any coactor awaitable (e.g. `ask`) into a task.
template <class A>
task<awaitable_value_t<A>> as_task(A a) {
  auto r = co_await std::move(a);
  if constexpr (std::is_void_v<awaitable_value_t<A>>) {
    if (!r)
      co_await fail(std::move(r.error()));
  } else {
    co_return r;
  }
}

template <class T>
struct is_task : std::false_type {};

template <class T>
struct is_task<task<T>> : std::true_type {};

/// Anything `when_all`/`when_any` accept as an item: a task or an awaitable
/// yielding `caf::expected<R>`.
template <class X>
concept join_item
    = is_task<std::decay_t<X>>::value || requires(std::decay_t<X>& x) {
  typename expected_value<decltype(x.await_resume())>::type;
};

/// Returns `x` as a task: a task as is, any other awaitable wrapped.
template <class X>
auto to_task(X&& x) {
  if constexpr (is_task<std::decay_t<X>>::value)
    return std::forward<X>(x);
  else
    return as_task(std::forward<X>(x));
}

template <class X>
using task_of_t = decltype(to_task(std::declval<X>()));

/// The join child for `t` (an empty one for an invalid task).
template <class T>
join::child child_of(task<T>& t) noexcept {
  if (!t.valid())
    return {nullptr, {}};
  return {&t.handle().promise(), t.handle()};
}

} // namespace coactor::detail
