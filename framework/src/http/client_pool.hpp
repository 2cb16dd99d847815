// Private: client connections and the per-node pool of keep-alive
// connections, keyed by scheme, host and port.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include "../node_context.hpp"
#include "coactor/metrics.hpp"

namespace coactor::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;

/// One connection to a server: plain TCP or TLS over TCP. Used by one
/// exchange at a time, on its own strand (`executor()`).
class connection {
 public:
  explicit connection(net::any_io_executor ex) : ex_(std::move(ex)) {}

  [[nodiscard]] net::any_io_executor executor() const { return ex_; }

  /// Makes the plain stream (before connecting).
  beast::tcp_stream& make_plain() {
    plain_.emplace(ex_);
    return *plain_;
  }

  /// Makes the TLS stream (before connecting).
  beast::ssl_stream<beast::tcp_stream>&
  make_tls(std::shared_ptr<net::ssl::context> ctx) {
    tls_ctx_ = std::move(ctx);
    tls_.emplace(ex_, *tls_ctx_);
    return *tls_;
  }

  [[nodiscard]] beast::tcp_stream& tcp() {
    return tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
  }

  /// Calls `f` with the stream to read and write.
  template <class F>
  void visit(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*plain_);
  }

  /// Closes the socket; pending operations complete with an error. On the
  /// connection's strand.
  void close() {
    if (plain_ || tls_)
      tcp().close();
  }

  /// Bytes read past the last response (kept for the next one).
  beast::flat_buffer buffer;
  /// Whether it served a response already (a reused connection may have
  /// been closed by the server meanwhile).
  bool reused = false;

 private:
  net::any_io_executor ex_;
  std::optional<beast::tcp_stream> plain_;
  std::shared_ptr<net::ssl::context> tls_ctx_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

using connection_ptr = std::shared_ptr<connection>;

/// What `acquire` hands out: an idle connection to reuse, or null with the
/// permission to open a new one.
using acquire_handler = std::function<void(connection_ptr)>;

/// The node's keep-alive connections. Thread-safe. Idle connections close
/// when the node stops.
class client_pool final : public coactor::detail::node_service {
 public:
  /// Registers the client's metrics unless the node's are off.
  explicit client_pool(coactor::detail::node_context& ctx);

  /// Counts one finished exchange with `host` (scheme, host and port) that
  /// ended with `status` (a status code, or the error's name) after
  /// `seconds`. Any thread; takes the families' locks (HTTP is no per-item
  /// path).
  void count(const std::string& host, const std::string& status,
             double seconds);

  /// The one strand on which every exchange and connection of the node
  /// runs: a kept connection moves from exchange to exchange, and its
  /// stream and the exchange's state must be used on the same strand.
  [[nodiscard]] net::strand<net::io_context::executor_type>
  strand(net::io_context& ioc) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!strand_)
      strand_.emplace(net::make_strand(ioc));
    return *strand_;
  }

  /// Calls `h` (inline or later, from another exchange's release) once a
  /// connection to `key` may be used: with an idle one, or with null to
  /// open a new one. Returns a ticket to `abandon` the wait, or 0 when `h`
  /// ran already; `h` never runs after `stopped`.
  std::size_t acquire(const std::string& key, std::size_t limit,
                      acquire_handler h) {
    std::unique_lock<std::mutex> guard{mtx_};
    auto& host = hosts_[key];
    if (!host.idle.empty()) {
      auto c = std::move(host.idle.back());
      host.idle.pop_back();
      guard.unlock();
      h(std::move(c));
      return 0;
    }
    if (host.open < limit) {
      ++host.open;
      if (open_metric_ != nullptr)
        open_metric_->add(1);
      guard.unlock();
      h(nullptr);
      return 0;
    }
    auto ticket = ++next_ticket_;
    host.waiting.push_back({ticket, std::move(h)});
    return ticket;
  }

  /// Gives up a wait (timeout, cancellation); false when it was served.
  bool abandon(const std::string& key, std::size_t ticket) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& w = hosts_[key].waiting;
    for (auto i = w.begin(); i != w.end(); ++i)
      if (i->ticket == ticket) {
        w.erase(i);
        return true;
      }
    return false;
  }

  /// Returns a connection after an exchange: `c` to keep it for reuse,
  /// null when it was closed. A waiting exchange gets it (or the
  /// permission to open one).
  void release(const std::string& key, connection_ptr c) {
    std::unique_lock<std::mutex> guard{mtx_};
    auto& host = hosts_[key];
    if (stopped_ && c) {
      net::post(c->executor(), [c] { c->close(); });
      c = nullptr;
    }
    if (!host.waiting.empty()) {
      auto next = std::move(host.waiting.front());
      host.waiting.pop_front();
      guard.unlock();
      next.handler(std::move(c)); // null: open a new one in its place
      return;
    }
    if (c)
      host.idle.push_back(std::move(c));
    else if (host.open > 0) {
      --host.open;
      if (open_metric_ != nullptr)
        open_metric_->add(-1);
    }
  }

  void stop() override {
    std::map<std::string, host_state> hosts;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopped_ = true;
      hosts.swap(hosts_);
      // The io_context goes before this service: nothing of it may be left
      // here (exchanges and connections hold copies of their own).
      strand_.reset();
    }
    for (auto& [key, host] : hosts)
      for (auto& c : host.idle)
        net::post(c->executor(), [c] { c->close(); });
  }

 private:
  struct waiter {
    std::size_t ticket;
    acquire_handler handler;
  };
  struct host_state {
    std::size_t open = 0; // idle and in use
    std::vector<connection_ptr> idle;
    std::deque<waiter> waiting;
  };

  std::mutex mtx_;
  std::map<std::string, host_state> hosts_;
  std::optional<net::strand<net::io_context::executor_type>> strand_;
  std::size_t next_ticket_ = 0;
  bool stopped_ = false;
  // The node's metrics (null when off); they outlive every exchange.
  metrics::counter_family* requests_metric_ = nullptr;
  metrics::histogram_family* duration_metric_ = nullptr;
  metrics::gauge* open_metric_ = nullptr;
};

} // namespace coactor::http::detail
