// coactor::http::get and fetch: HTTP/1.1 requests awaitable from actor
// tasks, run on the node's I/O threads with a keep-alive pool per host.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/from_callback.hpp"
#include "coactor/http/message.hpp"

namespace coactor::http {

/// Options of one request.
struct client_options {
  /// The whole exchange: waiting for a pooled connection, resolving,
  /// connecting, the TLS handshake, writing the request, reading the
  /// response (each redirect included). `errc::timeout` names the phase.
  std::chrono::milliseconds timeout{10'000};
  /// The largest response body accepted; larger: `errc::resource_exhausted`.
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  /// Whether 301, 302, 303, 307 and 308 responses are followed (303 turns
  /// the request into a GET without body); off, they are returned as they
  /// are.
  bool follow_redirects = false;
  /// At most this many redirects; one more: `errc::protocol_violation`.
  unsigned max_redirects = 5;
  /// Whether https verifies the server's certificate and host name.
  bool verify_peer = true;
  /// PEM file of trusted CA certificates for https; empty means OpenSSL's
  /// default paths (the system's CAs).
  std::string ca_file;
  /// Connections per scheme, host and port that the node's pool opens at
  /// most; more requests to the same host wait for a free connection.
  std::size_t max_connections_per_host = 8;
};

namespace detail {

/// Starts one exchange on the I/O threads (client.cpp); the `start` of the
/// `from_callback` awaitable returned by `get` and `fetch`.
struct fetch_start {
  caf::actor_system* sys;
  std::string url;
  request req;
  client_options opts;

  /// Returns the canceller: closes the exchange's connection.
  std::function<void()> operator()(done_callback<response> done);
};

} // namespace detail

/// The awaitable of `get` and `fetch`; yields `caf::expected<response>`.
using fetch_awaitable = from_callback_awaitable<response, detail::fetch_start>;

/// Sends `req` (its method, target ignored: `url` gives it, fields and
/// body) to `url` ("http://host[:port]/path?query" or "https://..."), from
/// a task of `self`. The exchange runs on the node's I/O threads; the task
/// resumes in `self`'s context with the response, whatever its status (a
/// 404 is a response, not an error), or with an error whose context names
/// method, URL and phase: `errc::invalid_argument` (bad URL),
/// `errc::resolve_failed`, `errc::connection_failed` (refused, reset,
/// closed early), `errc::tls_failure` (handshake, certificate),
/// `errc::timeout` (`opts.timeout`), `errc::protocol_violation` (a
/// malformed response, too many redirects), `errc::resource_exhausted` (body
/// over `max_body_bytes`), `errc::cancelled`, `errc::node_stopped`. A
/// cancelled task or an exiting `self` closes the connection. Requests
/// reuse the node's keep-alive connections; one that the server had closed
/// is retried once on a new connection when the method is idempotent.
///
/// Threading: `co_await` the result inside a `coactor::task` of `self`.
///
/// g++ 12: pass a named `request`, not a temporary written inside the
/// `co_await` expression; g++ 12 mishandles such temporaries (their strings
/// end up freed from the wrong address), as `from_callback`'s note says:
///
///     const http::request req{"POST", "/", {}, body};
///     auto res = co_await http::fetch(self, url, req, opts);
[[nodiscard]] fetch_awaitable fetch(caf::scheduled_actor* self, std::string url,
                                    request req, client_options opts = {});

/// GETs `url` within `timeout` (see `fetch`).
[[nodiscard]] fetch_awaitable get(caf::scheduled_actor* self, std::string url,
                                  caf::timespan timeout);

} // namespace coactor::http
