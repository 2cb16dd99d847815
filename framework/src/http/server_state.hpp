// Private: the shared state of one HTTP server, its sessions and the
// messages between sessions (I/O threads) and handler actors.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <spdlog/logger.h>

#include "coactor/http/server.hpp"
#include "coactor/metrics.hpp"

namespace coactor::http::detail {

class session;

/// The way back from a handler to its session: exactly one response is
/// delivered, posted onto the session's strand. A slot destroyed without a
/// response (its handler actor exited) answers 503, so no request is left
/// without an answer.
class reply_slot {
 public:
  reply_slot(std::weak_ptr<session> s, boost::asio::any_io_executor ex)
      : session_(std::move(s)), ex_(std::move(ex)) {}
  reply_slot(const reply_slot&) = delete;
  reply_slot& operator=(const reply_slot&) = delete;
  ~reply_slot();

  /// Delivers `r` unless a response was delivered already. Any thread.
  void deliver(response r);

 private:
  std::atomic<bool> done_{false};
  std::weak_ptr<session> session_;
  boost::asio::any_io_executor ex_;
};

/// One request on its way to a handler actor.
struct http_call {
  std::size_t route = 0;
  request req;
  std::shared_ptr<reply_slot> slot;
};

/// Shared by the listener, every session and the handle.
class server_state : public std::enable_shared_from_this<server_state> {
 public:
  server_state(boost::asio::io_context& ioc, server_options opts, router routes,
               std::shared_ptr<spdlog::logger> log)
      : ioc(ioc), opts(std::move(opts)), routes(std::move(routes)),
        log(std::move(log)), strand(boost::asio::make_strand(ioc)) {
    acceptor.emplace(*strand);
  }

  /// Binds and listens; errors name the address.
  caf::error listen();

  /// Accepts the next connection (on the acceptor's strand).
  void accept();

  /// Closes the listener, waits for in-flight requests up to `deadline`,
  /// then closes everything left. Blocks; not on an I/O thread.
  void stop(std::chrono::milliseconds deadline);

  // Called by sessions (any I/O thread).
  void opened(const std::shared_ptr<session>& s);
  void closed(session* s);

  boost::asio::io_context& ioc;
  const server_options opts;
  const router routes;
  std::shared_ptr<spdlog::logger> log;
  // Both reset by `stop`: nothing of the io_context may outlive the node.
  std::optional<boost::asio::strand<boost::asio::io_context::executor_type>>
      strand;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor; // on `strand`
  /// Returns the next handler actor (round robin), or an invalid handle
  /// once stopped. Any thread.
  caf::actor next_handler_actor() {
    std::lock_guard<std::mutex> guard{handlers_mtx};
    if (handlers.empty())
      return {};
    return handlers[next_handler++ % handlers.size()];
  }

  // Strong (nothing else keeps them alive); cleared by `stop`, so a handle
  // kept after node stop holds no actor.
  std::mutex handlers_mtx;
  std::vector<caf::actor> handlers;
  std::size_t next_handler = 0;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};

  std::atomic<std::size_t> requests{0};
  std::atomic<std::size_t> rejected{0};
  std::atomic<std::size_t> malformed{0};
  std::atomic<std::size_t> paced{0};

  /// Returns how long a request read at `now` waits for its turn under
  /// `max_requests_per_second` (zero: none), and books that turn. Any
  /// thread.
  std::chrono::steady_clock::duration
  pace(std::chrono::steady_clock::time_point now);

  /// Counts an answered request that took `took` since it was read in the
  /// node's metrics (route "none": no route matched, or the request was
  /// refused before routing). Any thread; HTTP is no per-item path, so the
  /// counter lookup takes the family's lock.
  void count_request(std::optional<std::size_t> route, unsigned status,
                     std::chrono::steady_clock::duration took);

  /// Registers the HTTP server families in `reg` and looks up the series
  /// of every route. Before the server listens.
  void add_metrics(metrics::registry& reg);

  // The node's metrics (null and empty when `node_options::metrics` is
  // off); they outlive every session (the node stops its servers before it
  // drops the registry).
  metrics::counter_family* requests_metric = nullptr;
  metrics::gauge* connections_metric = nullptr;
  // Per route (by index), then one for "none".
  std::vector<metrics::histogram*> duration_metrics;

  // The pacing state: the theoretical arrival time of the next request
  // (GCRA); `pace` alone reads and writes it.
  std::mutex pace_mtx;
  std::chrono::steady_clock::time_point pace_next{};

  mutable std::mutex mtx;
  std::condition_variable cv;
  std::unordered_set<std::shared_ptr<session>> sessions; // open ones
  bool stopped = false;
};

/// Returns what `fn` answers to `req`; 500 when it throws (logged). Any
/// thread.
response call_function(const function_handler& fn, const request& req,
                       const std::shared_ptr<spdlog::logger>& log);

/// Starts serving one accepted connection (or refusing it with 503).
void start_session(const std::shared_ptr<server_state>& st,
                   boost::asio::ip::tcp::socket sock, bool refuse);

/// Asks a session to close once it is idle (or at once with `force`).
void close_session(const std::shared_ptr<session>& s, bool force);

} // namespace coactor::http::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(coactor::http::detail::http_call)
