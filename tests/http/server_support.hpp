// What the server tests share: a node, a started server, a raw blocking
// client with a read timeout, and the hello route.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/http/server.hpp"
#include "coactor/node.hpp"

namespace coactor::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

using self_ptr = caf::event_based_actor*;
using raw_response = bhttp::response<bhttp::string_body>;

inline coactor::node make_http_node(std::size_t threads = 2) {
  coactor::node_options opts;
  opts.threads = threads;
  opts.log_level = coactor::log::level::error;
  auto n = coactor::node::create(opts);
  REQUIRE(n);
  return std::move(*n);
}

inline http::server start_server(coactor::node& n, http::router routes,
                                 http::server_options opts = {}) {
  auto srv = http::serve(n, std::move(opts), std::move(routes));
  REQUIRE(srv);
  return std::move(*srv);
}

// -- a raw client on the test thread ------------------------------------------

/// One connection with a read timeout, so that no test can hang on it.
class raw_client {
 public:
  explicit raw_client(uint16_t port) : sock_(ioc_) {
    sock_.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
    timeval tv{5, 0};
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
                 sizeof(tv));
  }

  void write(const std::string& bytes) {
    asio::write(sock_, asio::buffer(bytes));
  }

  raw_response read() {
    raw_response res;
    bhttp::read(sock_, buf_, res);
    return res;
  }

  raw_response get(const std::string& target, bool keep_alive = true) {
    write("GET " + target + " HTTP/1.1\r\nHost: test\r\n"
          + (keep_alive ? "" : "Connection: close\r\n") + "\r\n");
    return read();
  }

  /// Returns whether the server closed the connection (the next read sees
  /// end of stream rather than data or the 5 s timeout).
  bool closed_by_peer() {
    if (buf_.size() > 0)
      return false;
    char c;
    boost::system::error_code ec;
    sock_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context ioc_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
};

inline raw_response get_once(uint16_t port, const std::string& target) {
  raw_client c{port};
  return c.get(target, false);
}

/// Answers "hello <path>".
inline task<http::response> hello(self_ptr, http::request req) {
  co_return http::response::text(200, "hello " + std::string{req.path()});
}

} // namespace coactor::testing
