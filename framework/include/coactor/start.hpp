// coactor::start: run a task inside an actor, with a handle that cancels it.
#pragma once

#include <type_traits>
#include <utility>

#include <caf/expected.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/detail/root_scope.hpp"
#include "coactor/task.hpp"

namespace coactor {

/// A handle to a task started with `start` (asyncio's `Task`): it can cancel
/// the task and tell whether it finished. Copyable; does not keep the task
/// or its actor alive.
///
/// Threading: call `cancel` and `done` only in the context of the actor that
/// started the task (its handlers and its tasks); copies may be destroyed
/// anywhere.
class task_handle {
 public:
  task_handle() noexcept = default;

  /// @private
  explicit task_handle(detail::weak_root root) noexcept
      : root_(std::move(root)) {}

  /// Cancels the task: the `co_await` it is suspended at completes with
  /// `errc::cancelled` (delivered through the actor's mailbox, not inline),
  /// its children in `when_all`/`when_any` are cancelled too, and every
  /// later `co_await` of an awaitable in it completes at once with
  /// `errc::cancelled`. The coroutine then runs on to its end (it may clean
  /// up). No effect on a finished task or after the actor exited.
  void cancel() {
    if (auto* r = root_.get())
      r->cancel_root();
  }

  /// Returns whether the task ran to its end, or its frame was destroyed
  /// because its actor exited.
  [[nodiscard]] bool done() const noexcept {
    auto* r = root_.get();
    return r == nullptr || r->finished();
  }

  /// Returns whether the handle refers to a task.
  [[nodiscard]] bool valid() const noexcept { return root_.get() != nullptr; }

 private:
  detail::weak_root root_;
};

namespace detail {

struct discard_sink {
  template <class T>
  void operator()(caf::expected<T>&&) const noexcept {}
  void abandoned() const noexcept {}
};

template <class T, class F>
struct callback_sink {
  F fn;
  void operator()(caf::expected<T>&& x) { fn(std::move(x)); }
  void abandoned() const noexcept {}
};

} // namespace detail

/// Starts `t` in `self`: it runs at once, in the calling handler, until its
/// first suspension, then resumes in `self`'s context whenever what it
/// awaits completes. The result is discarded; use the overload with a
/// callback to get it.
///
/// Threading: call only from `self`'s context (a handler, or a task of
/// `self`). Lifetime: the task ends by itself, or its frame is destroyed
/// (with every frame it awaits) when `self` exits; a suspended task never
/// keeps `self` alive once it was told to quit.
template <class T>
task_handle start(caf::scheduled_actor* self, task<T> t) {
  return task_handle{
      detail::start_root(self, std::move(t), detail::discard_sink{})};
}

/// Starts `t` in `self` (see above) and calls `on_done(caf::expected<T>)` in
/// `self`'s context when it ended: with its value, its error,
/// `errc::cancelled` or `errc::unhandled_exception`. Not called when `self`
/// exits first. `on_done` must not throw.
template <class T, class F>
task_handle start(caf::scheduled_actor* self, task<T> t, F on_done) {
  using sink = detail::callback_sink<T, F>;
  return task_handle{
      detail::start_root(self, std::move(t), sink{std::move(on_done)})};
}

} // namespace coactor
