// coactor::io: the node's Asio io_context, and co_await of Asio operations
// from actor tasks.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/error.hpp"
#include "coactor/from_callback.hpp"

namespace coactor {

class node;

namespace io {

/// Returns the Asio `io_context` of the node that owns `sys`, starting its
/// `node_options::io_threads` threads on first use. `node::stop` stops the
/// context and joins the threads after the node's actors ended; handlers
/// still queued then are destroyed without running. I/O objects made on
/// the context (sockets, timers) must be destroyed before the node stops:
/// destroying one after its context is undefined behaviour (Asio's rule).
///
/// Threading: callable from any thread. Handlers run on the node's I/O
/// threads: keep user code out of them and deliver results into actors
/// (`io::async`, `from_callback`). Errors: `errc::invalid_argument` when
/// `sys` does not belong to a `coactor::node`, `errc::node_stopped` after
/// the node stopped.
[[nodiscard]] caf::expected<boost::asio::io_context*>
context(caf::actor_system& sys);

/// Returns the `io_context` of `n` (see above). Precondition: `n.running()`.
[[nodiscard]] caf::expected<boost::asio::io_context*> context(node& n);

/// Returns how many I/O threads of the node owning `sys` run (0 before first
/// use). Thread-safe.
[[nodiscard]] std::size_t threads_running(caf::actor_system& sys);

/// Maps an Asio error to coactor's: `operation_aborted` to
/// `errc::cancelled`, `timed_out` to `errc::timeout`, the rest to
/// `errc::io_error`; the context is `what` followed by Asio's message.
[[nodiscard]] caf::error to_error(const boost::system::error_code& ec,
                                  const std::string& what);

namespace detail {

/// The completion handler handed to an Asio initiating function by
/// `io::async_op`: `void(error_code)` or `void(error_code, T)`.
template <class T>
struct asio_handler {
  done_callback<T> done;
  std::string what;

  template <class U = T>
  requires(!std::is_void_v<U>) void operator()(boost::system::error_code ec,
                                               U x) const {
    if (ec)
      done(to_error(ec, what));
    else
      done(std::move(x));
  }

  template <class U = T>
  requires std::is_void_v<U>
  void operator()(boost::system::error_code ec) const {
    if (ec)
      done(to_error(ec, what));
    else
      done();
  }
};

template <class T, class Initiate, class Cancel>
struct asio_start {
  Initiate initiate;
  Cancel cancel;
  std::string what;

  std::function<void()> operator()(done_callback<T> done) {
    initiate(asio_handler<T>{std::move(done), what});
    return std::move(cancel);
  }
};

} // namespace detail

/// Awaits an operation that completes through a callback on any thread (an
/// I/O thread, typically): `start(done)` runs in `self`'s context once the
/// task suspended and may return a canceller, called in `self`'s context if
/// the await ends first. Exactly `from_callback<T>` (same errors, same
/// threading contract), named for I/O code.
template <class T, class Start>
auto async(caf::scheduled_actor* self, caf::timespan timeout, Start&& start) {
  return from_callback<T>(self, timeout, std::forward<Start>(start));
}

/// Awaits any Asio asynchronous operation from a task of `self`, resuming in
/// `self`'s context (never on the I/O thread): `initiate(handler)` starts it
/// with a completion handler of signature `void(error_code, T)` (or
/// `void(error_code)` for `T = void`), e.g.
///
///     auto init = [&sock, &buf](auto h) { sock.async_read_some(buf, h); };
///     auto cancel = [&sock] { boost::asio::post(sock.get_executor(),
///                                               [&sock] { sock.cancel(); });
///                                               };
///     auto n = co_await io::async_op<std::size_t>(self, 2s, init, cancel,
///                                                 "read");
///
/// Yields `caf::expected<T>`: the value, `to_error(ec, what)` for a failed
/// operation, `errc::timeout`, `errc::cancelled`. `cancel` is called (in
/// `self`'s context) when the await ends before the operation did: on a
/// timeout, a cancellation of the task, or `self`'s exit; the objects the
/// operation uses must outlive its handler, so keep them in shared state
/// when the task may be destroyed first.
template <class T, class Initiate, class Cancel>
auto async_op(caf::scheduled_actor* self, caf::timespan timeout,
              Initiate initiate, Cancel cancel, std::string what) {
  return from_callback<T>(
      self, timeout,
      detail::asio_start<T, Initiate, Cancel>{
          std::move(initiate), std::move(cancel), std::move(what)});
}

} // namespace io

} // namespace coactor
