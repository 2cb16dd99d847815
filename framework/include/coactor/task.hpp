// coactor::task<T>: the lazy coroutine type of coactor, run inside an actor.
#pragma once

#include <coroutine>
#include <utility>

#include <caf/expected.hpp>

#include "coactor/detail/task_promise.hpp"
#include "coactor/error.hpp"

namespace coactor {

/// A lazy, move-only coroutine producing a `T` (or `void`). Nothing runs
/// until the task is awaited (`co_await` inside another task), started in an
/// actor (`coactor::start`) or used to answer a request (`coactor::respond`).
///
/// Awaiting a `task<T>` yields `caf::expected<T>` and never throws: the
/// task's value, the error it returned, `errc::cancelled`, or
/// `errc::unhandled_exception` (context: the exception's `what()`) when an
/// exception escaped it. Awaiting transfers control symmetrically, so chains
/// of nested awaits of any depth do not grow the stack.
///
/// Threading: a task runs and resumes only in the context of the actor that
/// started it, on whatever worker thread runs that actor; between two
/// `co_await`s it has the actor to itself, across a `co_await` other
/// messages may change the actor's state. Never hold a lock or a
/// `thread_local` across `co_await`. Coroutine parameters are copied into
/// the frame: take them by value, and never write coroutine lambdas with
/// captures (the captures die with the lambda).
///
/// Ownership: a task owns its frame; destroying a task that has not finished
/// destroys the frame and the locals in it.
template <class T = void>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;

  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}

  task(task&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}

  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (h_)
        h_.destroy();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }

  task(const task&) = delete;
  task& operator=(const task&) = delete;

  ~task() {
    if (h_)
      h_.destroy();
  }

  /// Returns whether the task owns a coroutine (not default-constructed or
  /// moved from).
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }

  /// Returns whether the coroutine ran to its end.
  [[nodiscard]] bool done() const noexcept { return !h_ || h_.done(); }

  /// Awaits the task from another task of the same actor; see the class
  /// documentation for the result.
  auto operator co_await() && noexcept { return awaiter{h_}; }

  /// Same as awaiting the rvalue: the task is still owned by `*this`.
  auto operator co_await() & noexcept { return awaiter{h_}; }

  /// @private
  [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept {
    return h_;
  }

 private:
  struct awaiter {
    std::coroutine_handle<promise_type> h;

    bool await_ready() const noexcept { return !h || h.done(); }

    template <class Promise>
    std::coroutine_handle<>
    await_suspend(std::coroutine_handle<Promise> parent) noexcept {
      h.promise().start_as_child(parent.promise().scope(), parent);
      return h;
    }

    caf::expected<T> await_resume() {
      if (!h)
        return make_error(errc::invalid_argument, "awaited an empty task");
      return h.promise().take();
    }
  };

  std::coroutine_handle<promise_type> h_;
};

/// The awaitable returned by `fail`.
class [[nodiscard]] fail_awaitable {
 public:
  explicit fail_awaitable(caf::error err) noexcept : err_(std::move(err)) {}

  bool await_ready() const noexcept { return false; }

  template <class Promise>
  std::coroutine_handle<>
  await_suspend(std::coroutine_handle<Promise> h) noexcept {
    h.promise().set_error(std::move(err_));
    // Leave the frame where it is (its owner destroys it) and go on as if
    // the task had finished.
    return detail::promise_base::final_awaiter{}.await_suspend(h);
  }

  void await_resume() const noexcept {}

 private:
  caf::error err_;
};

/// Ends the calling task at once with `err`: `co_await coactor::fail(err);`.
/// Whoever awaits the task sees `err`. Meant for `task<void>`, which has no
/// `co_return` for errors (in a `task<T>`, `co_return err;` does the same).
/// The rest of the coroutine never runs; its locals are destroyed with the
/// frame.
inline fail_awaitable fail(caf::error err) noexcept {
  return fail_awaitable{std::move(err)};
}

} // namespace coactor

namespace coactor::detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}

inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{
      std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}

} // namespace coactor::detail
