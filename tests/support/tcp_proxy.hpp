// Test helper: a TCP proxy on 127.0.0.1 that the test commands to drop,
// stall or delay the connections it forwards (fault tests of links between
// nodes).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

namespace coactor::testing {

/// Listens on a free port of 127.0.0.1 and forwards every connection to
/// `127.0.0.1:target` (a second connection per accepted one), both ways,
/// until one side closes (then it closes the other). The test commands it:
/// `drop` resets both sides of every current connection (new ones are
/// accepted as before), `stall` stops forwarding until `resume` or for a
/// while (`stall_for`; bytes wait in the proxy, new connections are
/// accepted and wait too), `delay` holds
/// every chunk read for a while before it is forwarded.
///
/// Threading: runs its own io_context on one thread, started by the
/// constructor, stopped and joined by the destructor (which closes every
/// connection). The commands may be called from any thread; each returns
/// once it took effect on the proxy's thread. Errors: the constructor
/// throws `boost::system::system_error` when it cannot listen; a failed
/// connection to the target closes the accepted one (a peer sees a closed
/// link, as with a dead node).
class tcp_proxy {
 public:
  using tcp = boost::asio::ip::tcp;

  explicit tcp_proxy(uint16_t target)
      : target_(boost::asio::ip::make_address("127.0.0.1"), target),
        acceptor_(
            io_, tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread{[this] {
      io_.run();
    }};
  }

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  ~tcp_proxy() {
    run_here([this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      close_all();
      waiting_.clear();
    });
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  /// Returns the port it listens on.
  [[nodiscard]] uint16_t port() const {
    return acceptor_.local_endpoint().port();
  }

  /// Resets both sides of every current connection (RST: what a peer had
  /// not read is gone, as on a broken link); keeps accepting.
  void drop() {
    run_here([this] { close_all(); });
  }

  /// Stops forwarding until `resume`.
  void stall() {
    run_here([this] { stalled_ = true; });
  }

  /// Forwards again what waited and what comes.
  void resume() {
    run_here([this] { flow(); });
  }

  /// Stops forwarding now and forwards again after `d` (a timer of the
  /// proxy's thread: the test does not wait).
  void stall_for(std::chrono::milliseconds d) {
    run_here([this, d] {
      stalled_ = true;
      auto t = std::make_shared<boost::asio::steady_timer>(io_, d);
      t->async_wait([this, t](boost::system::error_code ec) {
        if (!ec)
          flow();
      });
    });
  }

  /// Holds each chunk for `d` before forwarding it (zero: none).
  void delay(std::chrono::milliseconds d) {
    run_here([this, d] { delay_ = d; });
  }

  /// Returns how many connections it accepted so far.
  [[nodiscard]] size_t accepted() {
    size_t n = 0;
    run_here([this, &n] { n = accepted_; });
    return n;
  }

 private:
  struct session {
    explicit session(boost::asio::io_context& io) : client(io), server(io) {}
    tcp::socket client;
    tcp::socket server;
    // Closes both sides; `reset`: abortively (RST, what the peers had not
    // read yet is gone), as a broken link.
    void close(bool reset = false) {
      boost::system::error_code ec;
      for (auto* sock : {&client, &server}) {
        if (reset && sock->is_open())
          sock->set_option(boost::asio::socket_base::linger{true, 0}, ec);
        else
          sock->shutdown(tcp::socket::shutdown_both, ec);
        sock->close(ec);
      }
    }
  };
  using session_ptr = std::shared_ptr<session>;

  // Runs `f` on the proxy's thread and waits for it.
  void run_here(std::function<void()> f) {
    if (std::this_thread::get_id() == thread_.get_id()) {
      f();
      return;
    }
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  void flow() {
    stalled_ = false;
    auto ready = std::move(waiting_);
    waiting_.clear();
    for (auto& f : ready)
      f();
  }

  void close_all() {
    for (auto& w : sessions_)
      if (auto s = w.lock())
        s->close(true);
    sessions_.clear();
  }

  void accept() {
    auto s = std::make_shared<session>(io_);
    acceptor_.async_accept(s->client, [this, s](boost::system::error_code ec) {
      if (ec)
        return; // closed
      ++accepted_;
      sessions_.push_back(s);
      s->server.async_connect(target_, [this, s](boost::system::error_code e) {
        if (e) {
          s->close();
          return;
        }
        pump(s, s->client, s->server);
        pump(s, s->server, s->client);
      });
      accept();
    });
  }

  // Forwards chunks from `from` to `to`, one at a time: read, wait for the
  // delay and the end of a stall, write, read again.
  void pump(session_ptr s, tcp::socket& from, tcp::socket& to) {
    auto buf = std::make_shared<std::array<char, 65536>>();
    from.async_read_some(
        boost::asio::buffer(*buf),
        [this, s, &from, &to, buf](boost::system::error_code ec, size_t n) {
          if (ec) {
            s->close();
            return;
          }
          auto write = [this, s, &from, &to, buf, n] {
            boost::asio::async_write(
                to, boost::asio::buffer(buf->data(), n),
                [this, s, &from, &to](boost::system::error_code e, size_t) {
                  if (e) {
                    s->close();
                    return;
                  }
                  pump(s, from, to);
                });
          };
          auto when_flowing = [this, write] {
            if (stalled_)
              waiting_.push_back(write);
            else
              write();
          };
          if (delay_.count() == 0) {
            when_flowing();
            return;
          }
          auto t = std::make_shared<boost::asio::steady_timer>(io_, delay_);
          t->async_wait(
              [t, when_flowing](boost::system::error_code) { when_flowing(); });
        });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      guard_{io_.get_executor()};
  tcp::endpoint target_;
  tcp::acceptor acceptor_;
  std::vector<std::weak_ptr<session>> sessions_;
  std::vector<std::function<void()>> waiting_;
  bool stalled_ = false;
  std::chrono::milliseconds delay_{0};
  size_t accepted_ = 0;
  std::thread thread_;
};

} // namespace coactor::testing
