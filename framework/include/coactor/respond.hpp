// coactor::respond: answer a request with the outcome of a task (coroutine
// handlers).
#pragma once

#include <tuple>
#include <utility>

#include <caf/response_promise.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "coactor/detail/root_scope.hpp"
#include "coactor/error.hpp"
#include "coactor/task.hpp"

namespace coactor {

namespace detail {

template <class R>
struct response_type_of {
  using type = caf::typed_response_promise<R>;
};

template <>
struct response_type_of<void> {
  using type = caf::response_promise;
};

template <class... Ts>
struct response_type_of<std::tuple<Ts...>> {
  using type = caf::typed_response_promise<Ts...>;
};

template <class R>
struct respond_sink {
  typename response_type_of<R>::type rp;

  void operator()(caf::expected<R>&& x) {
    if (!x) {
      rp.deliver(std::move(x.error()));
    } else if constexpr (std::is_void_v<R>) {
      rp.deliver(caf::unit);
    } else if constexpr (requires { std::tuple_size<R>::value; }) {
      std::apply([this](auto&&... xs) { rp.deliver(std::move(xs)...); },
                 std::move(*x));
    } else {
      rp.deliver(std::move(*x));
    }
  }

  void abandoned() {
    if (rp.pending())
      rp.deliver(make_error(errc::target_down,
                            "the actor exited before its coroutine handler "
                            "finished"));
  }
};

} // namespace detail

/// Answers the request being handled with the outcome of `t`: a coroutine
/// handler. Call it from a message handler and return its result:
///
///     [self](get_atom, std::string key) {
///       return coactor::respond(self, lookup(self, std::move(key)));
///     }
///
/// `lookup` is a free function returning `task<R>` (a handler lambda that is
/// itself a coroutine would dangle: see docs/coroutines.md). The task starts
/// at once, in the handler; when it ends the requester receives its value
/// (`R`; nothing for `void`; the elements of a `std::tuple`) or its error
/// (`errc::unhandled_exception` for an escaped exception, `errc::cancelled`).
/// If `self` exits first, the requester receives `errc::target_down`.
///
/// Returns the response promise: `caf::typed_response_promise<R>` (so typed
/// actors' handlers may return it), `caf::response_promise` for `void`.
/// Threading: call only from `self`'s context, while handling the request.
template <class R>
typename detail::response_type_of<R>::type respond(caf::scheduled_actor* self,
                                                   task<R> t) {
  using promise = typename detail::response_type_of<R>::type;
  promise rp;
  if constexpr (std::is_void_v<R>)
    rp = self->make_response_promise();
  else
    rp = self->template make_response_promise<promise>();
  detail::start_root(self, std::move(t), detail::respond_sink<R>{rp});
  return rp;
}

/// Makes a message handler from a coroutine function `fn(self, args...)`
/// returning `task<R>`: `coactor::handler(self, fetch)` answers each request
/// with the outcome of `fetch(self, args...)` (see `respond`).
template <class Self, class R, class... Ts>
auto handler(Self* self, task<R> (*fn)(Self*, Ts...)) {
  return [self, fn](Ts... xs) {
    return respond(self, fn(self, std::move(xs)...));
  };
}

} // namespace coactor
