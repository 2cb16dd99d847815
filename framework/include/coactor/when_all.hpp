// coactor::when_all / gather: await several tasks or awaitables concurrently,
// with per-item results and an optional overall timeout.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <tuple>
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

namespace detail {

template <class T>
caf::expected<T> child_result(task<T>& t, const join& j, std::size_t i) {
  if (j.timed_out(i))
    return make_error(errc::timeout, "when_all: item still running at the "
                                     "overall timeout");
  if (!t.valid())
    return make_error(errc::invalid_argument, "when_all: empty task");
  return t.handle().promise().take();
}

} // namespace detail

/// The awaitable returned by the variadic `when_all`.
template <class... Ts>
class [[nodiscard]] when_all_awaitable {
 public:
  when_all_awaitable(caf::timespan timeout, task<Ts>... ts)
      : timeout_(timeout), tasks_(std::move(ts)...) {}

  bool await_ready() const noexcept { return sizeof...(Ts) == 0; }

  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    std::vector<detail::join::child> kids;
    kids.reserve(sizeof...(Ts));
    std::apply([&](auto&... t) { (kids.push_back(detail::child_of(t)), ...); },
               tasks_);
    return join_.start(h.promise().scope(), h, kids, timeout_);
  }

  std::tuple<caf::expected<Ts>...> await_resume() {
    return results(std::index_sequence_for<Ts...>{});
  }

 private:
  template <std::size_t... Is>
  std::tuple<caf::expected<Ts>...> results(std::index_sequence<Is...>) {
    return {detail::child_result(std::get<Is>(tasks_), join_, Is)...};
  }

  caf::timespan timeout_;
  std::tuple<task<Ts>...> tasks_;
  detail::join join_{false};
};

/// The awaitable returned by `when_all` over a vector.
template <class T>
class [[nodiscard]] when_all_vector_awaitable {
 public:
  when_all_vector_awaitable(caf::timespan timeout, std::vector<task<T>> ts)
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

  std::vector<caf::expected<T>> await_resume() {
    std::vector<caf::expected<T>> result;
    result.reserve(tasks_.size());
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      result.push_back(detail::child_result(tasks_[i], join_, i));
    return result;
  }

 private:
  caf::timespan timeout_;
  std::vector<task<T>> tasks_;
  detail::join join_{false};
};

/// Runs every item concurrently in the awaiting task's actor and yields a
/// `std::tuple<caf::expected<T>...>` once all have ended: each item's own
/// outcome, so a partial failure is visible. Items are `task<T>`s or
/// coactor awaitables (`ask`, `sleep`, `from_callback`, ...). Each item runs
/// in its own cancellation scope: cancelling the awaiting task cancels them
/// all. Never throws. Asyncio's `gather`.
///
/// Threading: use inside a `coactor::task`; items start at the `co_await`
/// (each runs until its first suspension) and resume in the same actor.
template <detail::join_item... Xs>
auto when_all(Xs&&... xs) {
  return when_all_awaitable<typename detail::task_of_t<Xs>::value_type...>{
      caf::timespan::max(), detail::to_task(std::forward<Xs>(xs))...};
}

/// `when_all` with an overall timeout: items still running after `timeout`
/// are cancelled and yield `errc::timeout`; the others keep their outcome.
template <class Rep, class Period, detail::join_item... Xs>
auto when_all(std::chrono::duration<Rep, Period> timeout, Xs&&... xs) {
  return when_all_awaitable<typename detail::task_of_t<Xs>::value_type...>{
      std::chrono::duration_cast<caf::timespan>(timeout),
      detail::to_task(std::forward<Xs>(xs))...};
}

/// `when_all` over a vector of tasks: yields `std::vector<caf::expected<T>>`
/// in the same order.
template <class T>
when_all_vector_awaitable<T> when_all(std::vector<task<T>> ts,
                                      caf::timespan timeout
                                      = caf::timespan::max()) {
  return {timeout, std::move(ts)};
}

/// `when_all` over a vector of awaitables (e.g. `ask`s): yields
/// `std::vector<caf::expected<R>>` in the same order.
template <class A>
requires(!detail::is_task<A>::value) auto when_all(std::vector<A> xs,
                                                   caf::timespan timeout
                                                   = caf::timespan::max()) {
  using task_type = detail::task_of_t<A>;
  std::vector<task_type> ts;
  ts.reserve(xs.size());
  for (auto& x : xs)
    ts.push_back(detail::as_task(std::move(x)));
  return when_all_vector_awaitable<typename task_type::value_type>{
      timeout, std::move(ts)};
}

/// The awaitable returned by `when_all` over a vector of `ask`s: no
/// coroutine frame per item, each reply completes its slot directly.
template <class R, class... Ts>
class [[nodiscard]] when_all_asks_awaitable
    : private detail::ask_batch<R, Ts...> {
 public:
  when_all_asks_awaitable(std::vector<ask_awaitable<R, Ts...>> asks,
                          caf::timespan timeout)
      : detail::ask_batch<R, Ts...>(std::move(asks), timeout, false) {}

  using detail::ask_batch<R, Ts...>::await_ready;
  using detail::ask_batch<R, Ts...>::await_suspend;

  std::vector<caf::expected<R>> await_resume() {
    return std::move(this->results_);
  }
};

/// `when_all` over a vector of `ask`s (the fan-out case): yields
/// `std::vector<caf::expected<R>>` in the same order; each ask keeps its own
/// timeout, `timeout` bounds them all.
template <class R, class... Ts>
when_all_asks_awaitable<R, Ts...>
when_all(std::vector<ask_awaitable<R, Ts...>> asks,
         caf::timespan timeout = caf::timespan::max()) {
  return {std::move(asks), timeout};
}

/// Asyncio's name for `when_all`.
template <class... Xs>
auto gather(Xs&&... xs) -> decltype(when_all(std::forward<Xs>(xs)...)) {
  return when_all(std::forward<Xs>(xs)...);
}

} // namespace coactor
