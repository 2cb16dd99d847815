// Internals: the promise type of coactor::task<T>.
#pragma once

#include <coroutine>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/error.hpp"

namespace coactor::detail {

/// Turns the exception in flight into `errc::unhandled_exception` with its
/// `what()` as the context.
inline caf::error current_exception_error() noexcept {
  try {
    throw;
  } catch (const std::exception& ex) {
    return make_error(errc::unhandled_exception, ex.what());
  } catch (...) {
    return make_error(errc::unhandled_exception, "non-standard exception");
  }
}

/// What every task promise has: where to go when done and the scope the
/// task runs in (set by whoever starts or awaits it).
class promise_base {
 public:
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }

    template <class Promise>
    std::coroutine_handle<>
    await_suspend(std::coroutine_handle<Promise> h) noexcept {
      auto& p = h.promise();
      if (p.continuation_)
        return p.continuation_; // symmetric transfer: no stack growth
      if (p.completion_ != nullptr)
        return p.completion_->on_done();
      return std::noop_coroutine();
    }

    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }

  final_awaiter final_suspend() const noexcept { return {}; }

  /// The scope of the chain this task belongs to (not owned).
  [[nodiscard]] detail::scope* scope() const noexcept { return scope_; }

  void start_as_child(detail::scope* s, std::coroutine_handle<> cont) noexcept {
    scope_ = s;
    continuation_ = cont;
  }

  void start_detached(detail::scope* s, completion* c) noexcept {
    scope_ = s;
    completion_ = c;
  }

 private:
  detail::scope* scope_ = nullptr;
  std::coroutine_handle<> continuation_;
  completion* completion_ = nullptr;
};

} // namespace coactor::detail

namespace coactor {
template <class T>
class task;
} // namespace coactor

namespace coactor::detail {

/// The promise of `task<T>` for a value type `T`: `co_return` a `T`, a
/// `caf::error` (or anything a `caf::error` is made from, e.g. an `errc`) or
/// a `caf::expected<T>`.
template <class T>
class task_promise : public promise_base {
 public:
  task<T> get_return_object() noexcept;

  void unhandled_exception() noexcept {
    result_.template emplace<2>(current_exception_error());
  }

  void return_value(T x) noexcept(std::is_nothrow_move_constructible_v<T>) {
    result_.template emplace<1>(std::move(x));
  }

  template <class U>
  requires(!std::is_same_v<std::decay_t<U>, T>) void return_value(U&& x) {
    using u = std::decay_t<U>;
    if constexpr (std::is_same_v<u, caf::expected<T>>) {
      if (x)
        result_.template emplace<1>(std::move(*x));
      else
        result_.template emplace<2>(std::move(x.error()));
    } else if constexpr (std::is_constructible_v<T, U&&>) {
      result_.template emplace<1>(std::forward<U>(x));
    } else {
      result_.template emplace<2>(caf::error{std::forward<U>(x)});
    }
  }

  /// Ends the task with `err` (see `coactor::fail`).
  void set_error(caf::error err) noexcept {
    result_.template emplace<2>(std::move(err));
  }

  /// Moves the outcome out; `errc::cancelled` when the task never finished.
  caf::expected<T> take() {
    switch (result_.index()) {
      case 1: return std::move(std::get<1>(result_));
      case 2: return std::move(std::get<2>(result_));
      default: return make_error(errc::cancelled, "task did not finish");
    }
  }

 private:
  std::variant<std::monostate, T, caf::error> result_;
};

/// The promise of `task<void>`: `co_return;` only (an exception or a
/// cancellation is its only way to fail).
template <>
class task_promise<void> : public promise_base {
 public:
  task<void> get_return_object() noexcept;

  void unhandled_exception() noexcept {
    err_ = current_exception_error();
    done_ = true;
  }

  void return_void() noexcept { done_ = true; }

  /// Ends the task with `err` (see `coactor::fail`).
  void set_error(caf::error err) noexcept {
    err_ = std::move(err);
    done_ = true;
  }

  caf::expected<void> take() {
    if (!done_)
      return make_error(errc::cancelled, "task did not finish");
    if (err_)
      return std::move(err_);
    return caf::unit;
  }

 private:
  caf::error err_;
  bool done_ = false;
};

} // namespace coactor::detail
