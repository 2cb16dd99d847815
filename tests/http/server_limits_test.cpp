// Tests of the HTTP server's limits and its behaviour under bad input:
// malformed requests, oversized headers and bodies, slow, resetting and idle
// clients, too many connections. Each gets its status or a close, and a
// well-behaved client is served throughout.
#include <chrono>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "server_support.hpp"

using namespace std::chrono_literals;
using namespace coactor::testing;
namespace http = coactor::http;

namespace {

/// Raises the soft open-file limit to at least `n` (both ends of every
/// connection live in this process); fails the test if the hard limit is
/// lower.
void require_open_files(rlim_t n) {
  rlimit lim{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  if (lim.rlim_cur >= n)
    return;
  REQUIRE(lim.rlim_max >= n);
  lim.rlim_cur = n;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lim) == 0);
}

/// POST and GET of every path answer "hello <path>".
http::router post_and_get() {
  return std::move(
      http::router{}.route("POST", "/*", hello).route("GET", "/*", hello));
}

} // namespace

TEST_CASE("a malformed request gets 400 and a close while other connections "
          "are served",
          "[http]") {
  auto n = make_http_node();
  auto srv = start_server(n, http::router{}.route("GET", "/*", hello));
  raw_client good{srv.port()};
  CHECK(good.get("/before").result_int() == 200);
  raw_client bad{srv.port()};
  bad.write("THIS IS NOT HTTP\r\n\r\n");
  auto res = bad.read();
  CHECK(res.result_int() == 400);
  CHECK(bad.closed_by_peer());
  CHECK(good.get("/after").body() == "hello /after");
  CHECK(srv.stats().malformed == 1);
}

TEST_CASE("header fields over max_header_bytes get 431", "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.max_header_bytes = 1024;
  auto srv = start_server(n, http::router{}.route("GET", "/*", hello), opts);
  raw_client c{srv.port()};
  c.write("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4096, 'a')
          + "\r\n\r\n");
  CHECK(c.read().result_int() == 431);
  CHECK(c.closed_by_peer());
}

TEST_CASE("a body over max_body_bytes gets 413", "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.max_body_bytes = 1024;
  auto srv = start_server(n, http::router{}.route("POST", "/*", hello), opts);
  raw_client c{srv.port()};
  c.write("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2048\r\n\r\n"
          + std::string(2048, 'b'));
  CHECK(c.read().result_int() == 413);
  CHECK(c.closed_by_peer());
}

TEST_CASE("a client sending half a request gets 408 and a close after "
          "read_timeout",
          "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.read_timeout = 300ms;
  auto srv = start_server(n, http::router{}.route("GET", "/*", hello), opts);
  raw_client c{srv.port()};
  auto t0 = std::chrono::steady_clock::now();
  c.write("GET /half HTTP/1.1\r\nHost: t\r\n");
  auto res = c.read();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(res.result_int() == 408);
  CHECK(c.closed_by_peer());
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 2s);
}

TEST_CASE("a connection over max_connections gets 503", "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.max_connections = 2;
  auto srv = start_server(n, http::router{}.route("GET", "/*", hello), opts);
  raw_client a{srv.port()};
  raw_client b{srv.port()};
  CHECK(a.get("/a").result_int() == 200); // both accepted and open
  CHECK(b.get("/b").result_int() == 200);
  raw_client c{srv.port()};
  CHECK(c.read().result_int() == 503);
  CHECK(c.closed_by_peer());
  CHECK(srv.stats().rejected_connections == 1);
  CHECK(a.get("/a").result_int() == 200);
}

TEST_CASE("a 10 GB Content-Length gets 413 before any body is read", "[http]") {
  auto n = make_http_node();
  auto srv = start_server(n, post_and_get());
  raw_client c{srv.port()};
  c.write("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10737418240\r\n\r\n");
  CHECK(c.read().result_int() == 413);
  CHECK(c.closed_by_peer());
  CHECK(get_once(srv.port(), "/after").body() == "hello /after");
}

TEST_CASE("slowloris: a request trickling in byte by byte gets 408 at "
          "read_timeout",
          "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.read_timeout = 300ms;
  auto srv = start_server(n, http::router{}.route("GET", "/*", hello), opts);
  asio::io_context ioc;
  tcp::socket s{ioc};
  s.connect({asio::ip::make_address("127.0.0.1"), srv.port()});
  // One byte per 50 ms: each byte arrives well within the timeout, the
  // request as a whole does not. Stops once the server answered.
  std::string slow
      = "GET /slowloris HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(200, 'p');
  auto t0 = std::chrono::steady_clock::now();
  bool answered = false;
  for (std::size_t i = 0; i < slow.size() && !answered; ++i) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(&slow[i], 1), ec);
    if (ec)
      break; // the server closed; its answer is in the receive buffer
    pollfd pfd{s.native_handle(), POLLIN, 0};
    answered = ::poll(&pfd, 1, 50) > 0;
  }
  auto elapsed = std::chrono::steady_clock::now() - t0;
  REQUIRE(answered);
  beast::flat_buffer buf;
  raw_response res;
  bhttp::read(s, buf, res);
  CHECK(res.result_int() == 408);
  CHECK(elapsed < 2s); // not the ~10 s the whole trickle would take
  CHECK(get_once(srv.port(), "/after").body() == "hello /after");
}

TEST_CASE("a client resetting mid-body does not disturb the others", "[http]") {
  auto n = make_http_node();
  auto srv = start_server(n, post_and_get());
  raw_client good{srv.port()};
  CHECK(good.get("/before").result_int() == 200);
  {
    asio::io_context ioc;
    tcp::socket s{ioc};
    s.connect({asio::ip::make_address("127.0.0.1"), srv.port()});
    asio::write(s, asio::buffer(std::string{"POST /r HTTP/1.1\r\nHost: t\r\n"
                                            "Content-Length: 1000\r\n\r\n"
                                            "ten bytes."}));
    s.set_option(asio::socket_base::linger(true, 0)); // close sends RST
    s.close();
  }
  CHECK(good.get("/after").body() == "hello /after");
  CHECK(srv.stats().requests == 2);
  auto report = n.stop(5s);
  CHECK(report.clean());
}

TEST_CASE("1,000 idle connections are closed at read_timeout while a "
          "well-behaved client is served",
          "[http]") {
  require_open_files(2200);
  auto n = make_http_node();
  http::server_options opts;
  opts.max_connections = 1100;
  opts.read_timeout = 500ms;
  auto srv = start_server(n, http::router{}.route("GET", "/*", hello), opts);
  asio::io_context ioc;
  std::vector<tcp::socket> idle;
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), srv.port()};
  for (int i = 0; i < 1000; ++i) {
    idle.emplace_back(ioc);
    idle.back().connect(ep);
  }
  for (int i = 0; i < 3; ++i)
    CHECK(get_once(srv.port(), "/good").body() == "hello /good");
  std::size_t closed = 0;
  for (auto& s : idle) {
    timeval tv{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    boost::system::error_code ec;
    auto k = s.read_some(asio::buffer(&c, 1), ec);
    // Idle, no request begun: closed without a response.
    closed
        += (k == 0
            && (ec == asio::error::eof || ec == asio::error::connection_reset))
               ? 1
               : 0;
  }
  CHECK(closed == 1000);
  CHECK(srv.stats().rejected_connections == 0);
  CHECK(srv.stats().requests == 3);
}
