// coactor::when_any: await the first of several tasks or awaitables; the
// others are cancelled.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "coactor/ask.hpp"
#include "coactor/detail/ask_batch.hpp"
#include "coactor/detail/join.hpp"
#include "coactor/error.hpp"
#include "coactor/task.hpp"

namespace coactor {

/// What `when_any` yields: which item ended first and its outcome.
template <class T>
struct any_result {
  /// The index of the first item to end; `npos` when none ended before the
  /// overall timeout (or there were no items).
  std::size_t index;
  /// The outcome of that item (`errc::timeout` when none ended in time,
  /// `errc::invalid_argument` for no items).
  caf::expected<T> value;

  static constexpr std::size_t npos = detail::join::npos;
};

/// The awaitable returned by `when_any`.
template <class T>
class [[nodiscard]] when_any_awaitable {
 public:
  when_any_awaitable(caf::timespan timeout, std::vector<task<T>> ts)
      : timeout_(timeout), tasks_(std::move(ts)) {}

  bool await_ready() const noexcept { return tasks_.empty(); }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    std::vector<detail::join::child> kids;
    kids.reserve(tasks_.size());
    for (auto& t : tasks_)
      kids.push_back(detail::child_of(t));
    return join_.start(h.promise().scope(), h, kids, timeout_);
  }

  any_result<T> await_resume() {
    if (tasks_.empty())
      return {any_result<T>::npos,
              make_error(errc::invalid_argument, "when_any: no items")};
    auto i = join_.winner();
    if (i == detail::join::npos)
      return {i, make_error(errc::timeout,
                            "when_any: no item ended before the timeout")};
    return {i, tasks_[i].handle().promise().take()};
  }

 private:
  caf::timespan timeout_;
  std::vector<task<T>> tasks_;
  detail::join join_{true};
};

/// Runs every item concurrently in the awaiting task's actor; the first to
/// end (with a value or an error) wins. The others are then cancelled (they
/// see `errc::cancelled` at their suspension point; replies arriving later
/// are dropped) and the awaiting task resumes once they have wound down,
/// so no frame outlives the `co_await`. Yields `any_result<T>`. Items are
/// `task<T>`s or coactor awaitables of the same value type. Never throws.
///
/// Threading: use inside a `coactor::task`; items resume in the same actor.
template <detail::join_item X, detail::join_item... Xs>
auto when_any(X&& x, Xs&&... xs) {
  using task_type = detail::task_of_t<X>;
  static_assert((std::is_same_v<task_type, detail::task_of_t<Xs>> && ...),
                "when_any: every item must yield the same type");
  std::vector<task_type> ts;
  ts.reserve(1 + sizeof...(Xs));
  ts.push_back(detail::to_task(std::forward<X>(x)));
  (ts.push_back(detail::to_task(std::forward<Xs>(xs))), ...);
  return when_any_awaitable<typename task_type::value_type>{
      caf::timespan::max(), std::move(ts)};
}

/// `when_any` over a vector of tasks; with a `timeout`, yields index `npos`
/// and `errc::timeout` when no item ended in time (all are cancelled).
template <class T>
when_any_awaitable<T> when_any(std::vector<task<T>> ts,
                               caf::timespan timeout = caf::timespan::max()) {
  return {timeout, std::move(ts)};
}

/// The awaitable returned by `when_any` over a vector of `ask`s.
template <class R, class... Ts>
class [[nodiscard]] when_any_asks_awaitable
    : private detail::ask_batch<R, Ts...> {
 public:
  when_any_asks_awaitable(std::vector<ask_awaitable<R, Ts...>> asks,
                          caf::timespan timeout)
      : detail::ask_batch<R, Ts...>(std::move(asks), timeout, true) {}

  using detail::ask_batch<R, Ts...>::await_ready;
  using detail::ask_batch<R, Ts...>::await_suspend;

  any_result<R> await_resume() {
    if (this->results_.empty() && this->asks_.empty())
      return {any_result<R>::npos,
              make_error(errc::invalid_argument, "when_any: no items")};
    auto i = this->winner_;
    if (i == detail::join::npos)
      return {i, make_error(errc::timeout,
                            "when_any: no item ended before the timeout")};
    return {i, std::move(this->results_[i])};
  }
};

/// `when_any` over a vector of `ask`s: the first reply (or error) wins, the
/// other requests are cancelled and their late replies dropped.
template <class R, class... Ts>
when_any_asks_awaitable<R, Ts...>
when_any(std::vector<ask_awaitable<R, Ts...>> asks,
         caf::timespan timeout = caf::timespan::max()) {
  return {std::move(asks), timeout};
}

/// `when_any` over a vector of awaitables (e.g. `sleep`s).
template <class A>
requires(!detail::is_task<A>::value) auto when_any(std::vector<A> xs,
                                                   caf::timespan timeout
                                                   = caf::timespan::max()) {
  using task_type = detail::task_of_t<A>;
  std::vector<task_type> ts;
  ts.reserve(xs.size());
  for (auto& x : xs)
    ts.push_back(detail::as_task(std::move(x)));
  return when_any_awaitable<typename task_type::value_type>{timeout,
                                                            std::move(ts)};
}

} // namespace coactor
