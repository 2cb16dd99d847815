// coactor::http::serve: an HTTP/1.1 server on the node's I/O threads whose
// routes run as coroutines, functions or actors in the node's actors.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "coactor/http/message.hpp"
#include "coactor/task.hpp"

namespace coactor {

class node;

namespace http {

/// Options of a server; the defaults are safe for a server facing the
/// internet, the limits answer with the status named.
struct server_options {
  /// The address to listen on; "0.0.0.0" means every interface.
  std::string host = "127.0.0.1";
  /// The port; 0 picks a free one (`server::port()` reports it).
  uint16_t port = 0;
  /// Request line plus header fields, in bytes; larger: 431, then close.
  std::size_t max_header_bytes = 8 * 1024;
  /// Request body in bytes; larger: 413, then close.
  std::size_t max_body_bytes = 1024 * 1024;
  /// How long reading one request may take, and how long a keep-alive
  /// connection may stay idle: a begun request gets 408, then close.
  std::chrono::milliseconds read_timeout{10'000};
  /// How long a route may take to answer: 504 after that.
  std::chrono::milliseconds handler_timeout{30'000};
  /// Open connections at most; more get 503 and are closed.
  std::size_t max_connections = 256;
  /// Actors that run the routes (round robin over requests); 0 means one
  /// per scheduler thread of the node. None are started when every route
  /// runs on the I/O thread (`run_on::io_thread`).
  std::size_t handler_actors = 0;
  /// Requests started per second at most, over all connections; 0 means no
  /// limit. A burst of that many starts at once; beyond it, a request that
  /// was read waits for its turn (it is not refused; `handler_timeout` and
  /// the latency metric count the wait). A closed-loop flood then costs at
  /// most that many requests' CPU per second: the node's observability
  /// server is paced so (docs/observability.md).
  std::size_t max_requests_per_second = 0;
};

/// A coroutine route: runs as a `coactor::task` in one of the server's
/// handler actors (`self`), so it may `co_await` (sleep, ask, http::get)
/// while that actor serves other requests.
using task_handler
    = task<response> (*)(caf::event_based_actor* self, request req);

/// A plain route: runs where its `run_on` says (a handler actor unless told
/// otherwise) and must not block.
using function_handler = std::function<response(const request&)>;

/// Where a plain route runs.
enum class run_on {
  /// In one of the server's handler actors (round robin over requests): the
  /// request travels to a scheduler thread and the response back.
  handler_actor,
  /// On the I/O thread that read the request, with no hop to an actor: no
  /// scheduler thread is woken, so requests to the route cost the node's
  /// actors nothing but the CPU of the I/O thread. For functions that read
  /// thread-safe state and take microseconds (the node's own `/metrics`
  /// runs so). The function holds up every connection of that I/O thread
  /// while it runs, so it must not block, nor wait for actors; with several
  /// `io_threads` it runs on several threads at once, so it must be
  /// thread-safe. A throw gives 500; `handler_timeout` does not apply.
  io_thread,
};

/// Maps method and path to a route. A path is matched exactly, or as a
/// prefix when it ends in "/*" ("/kv/*" matches "/kv/a" and "/kv/a/b").
/// The first matching route wins. No route for the path: 404; a route for
/// the path but not the method: 405 with `Allow`.
class router {
 public:
  /// Adds a coroutine route.
  router& route(std::string method, std::string path, task_handler fn);
  /// Adds an actor route: `target` is asked with the `request` and must
  /// answer with a `response` within `handler_timeout` (else 504; an error
  /// reply gives 500).
  router& route(std::string method, std::string path, caf::actor target);
  /// Adds a plain route that runs `where` (see `run_on`).
  router& route(std::string method, std::string path, function_handler fn,
                run_on where = run_on::handler_actor);

  /// @private
  struct entry {
    std::string method;
    std::string path;
    bool prefix = false;
    run_on where = run_on::handler_actor; // plain routes only
    std::variant<task_handler, caf::actor, function_handler> target;
  };

  /// @private
  [[nodiscard]] const std::vector<entry>& entries() const noexcept {
    return entries_;
  }

 private:
  std::vector<entry> entries_;
};

/// What a server did so far.
struct server_stats {
  /// Requests answered (any status, 4xx and 5xx included).
  std::size_t requests = 0;
  /// Connections open now.
  std::size_t open_connections = 0;
  /// Connections refused with 503 (`max_connections`).
  std::size_t rejected_connections = 0;
  /// Requests refused as malformed or over a limit (400, 408, 413, 431).
  std::size_t malformed = 0;
  /// Requests that waited for their turn (`max_requests_per_second`).
  std::size_t paced = 0;
};

namespace detail {
class server_state;
} // namespace detail

/// A handle to a running server. Copies refer to the same server; the
/// server runs until `stop` or until its node stops (which closes it too).
///
/// Threading: every member may be called from any thread except the
/// node's I/O threads (see `stop` for the one that blocks). The handle may
/// outlive the node; it then only reports.
class server {
 public:
  /// @private
  explicit server(std::shared_ptr<detail::server_state> st) noexcept
      : st_(std::move(st)) {}

  /// Returns the port the server listens on.
  [[nodiscard]] uint16_t port() const noexcept;

  /// Returns "http://HOST:PORT" (e.g. "http://127.0.0.1:8080").
  [[nodiscard]] std::string url() const;

  /// Returns what the server did so far.
  [[nodiscard]] server_stats stats() const;

  /// Stops gracefully: no new connections; requests being handled finish
  /// and are answered (with `Connection: close`) for at most `deadline`;
  /// idle connections close at once; whatever is left then is closed.
  /// Blocks until done (at most about `deadline` plus one second), so call
  /// it from a non-actor thread, never from an I/O thread or an actor.
  /// Idempotent; a no-op once the node stopped (which stopped the server).
  void stop(std::chrono::milliseconds deadline);

 private:
  std::shared_ptr<detail::server_state> st_;
};

/// Starts a server on `n`'s I/O context with `routes`. Errors:
/// `errc::invalid_argument` for bad options or an unparsable host,
/// `errc::io_error` naming host and port when it cannot listen (e.g. the
/// port is in use), `errc::node_stopped`.
///
/// Threading: call from a non-actor thread or an actor; returns once the
/// server listens.
[[nodiscard]] caf::expected<server> serve(node& n, server_options opts,
                                          router routes);

} // namespace http

} // namespace coactor
