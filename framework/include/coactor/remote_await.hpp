// coactor::remote awaitables: connect, look up and ask across nodes from a
// coactor::task, with the failure detection of the callback forms.
#pragma once

#include <chrono>
#include <string>
#include <tuple>
#include <utility>

#include "coactor/from_callback.hpp"
#include "coactor/remote.hpp"

namespace coactor::remote {

namespace detail {

// Hands a `done_callback<T>` to a callback form of coactor::remote.
template <class T>
struct complete {
  done_callback<T> done;
  void operator()(caf::expected<T> x) {
    if (x)
      done(std::move(*x));
    else
      done(std::move(x.error()));
  }
};

template <class Self>
struct connect_start {
  Self* self;
  std::string host;
  uint16_t port;
  connect_options opts;
  void operator()(done_callback<peer> done) {
    async_connect(self, host, port, opts, complete<peer>{std::move(done)});
  }
};

template <class Self>
struct lookup_start {
  Self* self;
  peer p;
  std::string name;
  caf::timespan timeout;
  void operator()(done_callback<caf::actor> done) {
    async_lookup(self, p, name, complete<caf::actor>{std::move(done)}, timeout);
  }
};

template <class R, class Self, class... Ts>
struct ask_start {
  Self* self;
  caf::actor target;
  caf::timespan timeout;
  std::tuple<Ts...> args;
  void operator()(done_callback<R> done) {
    std::apply(
        [&](Ts&... xs) {
          remote::ask<R>(self, target, timeout, complete<R>{std::move(done)},
                         std::move(xs)...);
        },
        args);
  }
};

// The awaitable's own deadline only backs up the inner one.
constexpr caf::timespan slack = std::chrono::seconds{1};

} // namespace detail

/// `co_await await_connect(self, host, port[, opts])` yields
/// `caf::expected<peer>`: `async_connect` as an awaitable (retries and
/// errors as `connect`). Threading: use in a `coactor::task` of `self`;
/// resumes in `self`'s context; never blocks.
template <class Self>
auto await_connect(Self* self, std::string host, uint16_t port,
                   connect_options opts = {}) {
  auto bound = caf::timespan{opts.total_bound()} + 2 * detail::slack;
  return from_callback<peer>(
      self, bound,
      detail::connect_start<Self>{self, std::move(host), port, opts});
}

/// `co_await await_lookup(self, peer, name[, timeout])` yields
/// `caf::expected<caf::actor>`: the actor published as `name` on `p`.
/// Errors: `errc::name_not_found` naming the name and the peer;
/// `errc::connection_failed` when the peer is lost; `errc::timeout`.
template <class Self>
auto await_lookup(Self* self, peer p, std::string name,
                  caf::timespan timeout = std::chrono::seconds{5}) {
  return from_callback<caf::actor>(
      self, timeout + detail::slack,
      detail::lookup_start<Self>{self, std::move(p), std::move(name), timeout});
}

/// `co_await await_ask<R>(self, target, timeout, xs...)` yields
/// `caf::expected<R>`: like `coactor::ask`, plus what `remote::ask` adds for
/// remote targets: `errc::connection_failed` as soon as the target's node is
/// lost (not at `timeout`) and `errc::type_not_registered` naming a type
/// missing on either node. Arguments are copied into the awaitable.
template <class R, class Self, class... Ts>
auto await_ask(Self* self, caf::actor target, caf::timespan timeout, Ts... xs) {
  return from_callback<R>(
      self, timeout + detail::slack,
      detail::ask_start<R, Self, Ts...>{self, std::move(target), timeout,
                                        std::tuple<Ts...>{std::move(xs)...}});
}

} // namespace coactor::remote
