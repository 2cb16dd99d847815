// Tests of coactor::http::serve: routes to coroutines, actors and
// functions, keep-alive and pipelining, handler errors and timeouts, graceful
// stop and node stop, against a raw Beast client and the real curl. The
// limits and bad input are in server_limits_test.cpp.
#include <chrono>
#include <cstdio>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/sleep.hpp"
#include "server_support.hpp"

using namespace std::chrono_literals;
using namespace coactor::testing;
using coactor::errc;
using coactor::task;
namespace http = coactor::http;

namespace {

// -- routes -------------------------------------------------------------------

task<http::response> sleepy(self_ptr self, http::request) {
  co_await coactor::sleep(self, 1s);
  co_return http::response::text(200, "slept");
}

task<http::response> throwing(self_ptr, http::request) {
  throw std::runtime_error("boom");
  co_return http::response::text(200, "unreachable");
}

task<http::response> forever(self_ptr self, http::request) {
  co_await coactor::sleep(self, 10s);
  co_return http::response::text(200, "too late");
}

// Signals the graceful-stop test that its request is being handled.
std::promise<void>* slow_started = nullptr;

task<http::response> slow_500ms(self_ptr self, http::request) {
  if (slow_started != nullptr)
    slow_started->set_value();
  co_await coactor::sleep(self, 500ms);
  co_return http::response::text(200, "finished");
}

} // namespace

TEST_CASE("a GET route answers 200 with its body", "[http]") {
  auto n = make_http_node();
  auto srv = start_server(n, http::router{}.route("GET", "/hello", hello));
  auto res = get_once(srv.port(), "/hello");
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "hello /hello");
  CHECK(srv.url() == "http://127.0.0.1:" + std::to_string(srv.port()));
  CHECK(srv.port() != 0);
  CHECK(srv.stats().requests == 1);
}

TEST_CASE("curl gets an answer from the server", "[http]") {
  auto n = make_http_node();
  auto srv = start_server(n, http::router{}.route("GET", "/hello", hello));
  auto cmd = "curl -s -i --max-time 5 " + srv.url() + "/hello?x=1 2>&1";
  auto* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  while (auto k = std::fread(buf, 1, sizeof(buf), p))
    out.append(buf, k);
  CHECK(::pclose(p) == 0);
  CHECK(out.starts_with("HTTP/1.1 200"));
  CHECK(out.ends_with("hello /hello"));
}

TEST_CASE("100 concurrent clients of a 1 s coroutine route are answered "
          "together",
          "[http]") {
  auto n = make_http_node(2);
  auto srv = start_server(n, http::router{}.route("GET", "/sleep", sleepy));
  auto port = srv.port();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<unsigned>> xs;
  for (int i = 0; i < 100; ++i)
    xs.push_back(std::async(std::launch::async, [port] {
      return get_once(port, "/sleep").result_int();
    }));
  std::size_t ok = 0;
  for (auto& x : xs) {
    REQUIRE(x.wait_for(10s) == std::future_status::ready);
    ok += x.get() == 200 ? 1 : 0;
  }
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(ok == 100);
  CHECK(elapsed < 3s);
}

TEST_CASE("an actor route is asked with the request", "[http]") {
  auto n = make_http_node();
  auto target = n.spawn([]() -> caf::behavior {
    return {[](const http::request& r) {
      return http::response::text(201, "actor saw " + r.method + " "
                                           + std::string{r.query()});
    }};
  });
  auto srv = start_server(n, http::router{}.route("PUT", "/a", target));
  raw_client c{srv.port()};
  c.write("PUT /a?k=v HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
  auto res = c.read();
  CHECK(res.result_int() == 201);
  CHECK(res.body() == "actor saw PUT k=v");
}

TEST_CASE("a plain function route runs off the I/O thread and answers",
          "[http]") {
  auto n = make_http_node();
  auto srv = start_server(
      n, http::router{}.route("POST", "/echo", [](const http::request& r) {
        return http::response::text(200, r.body);
      }));
  raw_client c{srv.port()};
  c.write("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde");
  auto res = c.read();
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "abcde");
}

TEST_CASE("an unknown path gets 404 and a known path with another method "
          "405 with Allow",
          "[http]") {
  auto n = make_http_node();
  auto srv = start_server(
      n, http::router{}.route("GET", "/x", hello).route("PUT", "/x", hello));
  raw_client c{srv.port()};
  CHECK(c.get("/nope").result_int() == 404);
  c.write("DELETE /x HTTP/1.1\r\nHost: t\r\n\r\n");
  auto res = c.read();
  CHECK(res.result_int() == 405);
  CHECK(std::string{res[bhttp::field::allow]} == "GET, PUT");
}

TEST_CASE("a path ending in /* matches every path below it", "[http]") {
  auto n = make_http_node();
  auto srv = start_server(n, http::router{}.route("GET", "/kv/*", hello));
  raw_client c{srv.port()};
  CHECK(c.get("/kv/a").body() == "hello /kv/a");
  CHECK(c.get("/kv/a/b?q").body() == "hello /kv/a/b");
  CHECK(c.get("/kvx").result_int() == 404);
}

TEST_CASE("keep-alive serves three requests on one connection", "[http]") {
  auto n = make_http_node();
  auto srv = start_server(n, http::router{}.route("GET", "/*", hello));
  raw_client c{srv.port()};
  for (auto path : {"/1", "/2", "/3"}) {
    auto res = c.get(path);
    CHECK(res.result_int() == 200);
    CHECK(res.body() == std::string{"hello "} + path);
    CHECK(res.keep_alive());
  }
  CHECK(srv.stats().open_connections == 1);
  CHECK(srv.stats().requests == 3);
}

TEST_CASE("three pipelined requests get three responses in order", "[http]") {
  auto n = make_http_node();
  // The first is the slowest, so order comes from the session, not luck.
  auto srv = start_server(
      n,
      http::router{}.route("GET", "/slow", sleepy).route("GET", "/*", hello));
  raw_client c{srv.port()};
  c.write("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
          "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"
          "GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(c.read().body() == "slept");
  CHECK(c.read().body() == "hello /b");
  CHECK(c.read().body() == "hello /c");
}

TEST_CASE("a throwing handler gets 500 and the server keeps serving",
          "[http]") {
  auto n = make_http_node();
  auto srv
      = start_server(n, http::router{}
                            .route("GET", "/task", throwing)
                            .route("GET", "/fn",
                                   [](const http::request&) -> http::response {
                                     throw std::runtime_error("boom");
                                   })
                            .route("GET", "/ok", hello));
  raw_client c{srv.port()};
  CHECK(c.get("/task").result_int() == 500);
  CHECK(c.get("/fn").result_int() == 500);
  CHECK(c.get("/ok").result_int() == 200);
}

TEST_CASE("a handler slower than handler_timeout gets 504", "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.handler_timeout = 200ms;
  auto silent = n.spawn([]() -> caf::behavior {
    return {[](const http::request&) -> caf::result<http::response> {
      return caf::delegated<http::response>{}; // never answers
    }};
  });
  auto srv = start_server(n,
                          http::router{}
                              .route("GET", "/task", forever)
                              .route("GET", "/actor", silent),
                          opts);
  raw_client c{srv.port()};
  CHECK(c.get("/task").result_int() == 504);
  CHECK(c.get("/actor").result_int() == 504);
}

TEST_CASE("a graceful stop finishes in-flight requests and refuses new "
          "connections",
          "[http]") {
  auto n = make_http_node();
  std::promise<void> started;
  slow_started = &started;
  auto srv = start_server(n, http::router{}.route("GET", "/slow", slow_500ms));
  auto port = srv.port();
  auto in_flight = std::async(std::launch::async, [port] {
    raw_client c{port};
    auto res = c.get("/slow");
    return std::make_pair(res, c.closed_by_peer());
  });
  REQUIRE(started.get_future().wait_for(5s) == std::future_status::ready);
  srv.stop(3s);
  slow_started = nullptr;
  REQUIRE(in_flight.wait_for(5s) == std::future_status::ready);
  auto [res, closed] = in_flight.get();
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "finished");
  CHECK_FALSE(res.keep_alive());
  CHECK(closed);
  asio::io_context ioc;
  tcp::socket s{ioc};
  boost::system::error_code ec;
  s.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}, ec);
  CHECK(ec == asio::error::connection_refused);
  srv.stop(1s); // idempotent
}

TEST_CASE("serving on a port in use fails with io_error naming it", "[http]") {
  auto n = make_http_node();
  auto first = start_server(n, http::router{}.route("GET", "/", hello));
  http::server_options opts;
  opts.port = first.port();
  auto second = http::serve(n, opts, http::router{});
  REQUIRE_FALSE(second);
  CHECK(coactor::is(second.error(), errc::io_error));
  CHECK_THAT(coactor::describe(second.error()),
             Catch::Contains("127.0.0.1:" + std::to_string(first.port())));
  opts.host = "not-an-ip";
  opts.port = 0;
  auto third = http::serve(n, opts, http::router{});
  REQUIRE_FALSE(third);
  CHECK(coactor::is(third.error(), errc::invalid_argument));
}

TEST_CASE("a node stop without server stop closes the server cleanly",
          "[http]") {
  auto n = make_http_node();
  auto srv = start_server(
      n,
      http::router{}.route("GET", "/task", forever).route("GET", "/", hello));
  raw_client idle{srv.port()};
  CHECK(idle.get("/").result_int() == 200);
  raw_client busy{srv.port()};
  busy.write("GET /task HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(srv.stats().requests == 1);
  auto stopped = std::async(std::launch::async, [&n] { return n.stop(5s); });
  REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
  CHECK(stopped.get().clean());
  CHECK(idle.closed_by_peer());
  CHECK(srv.stats().open_connections == 0);
  srv.stop(1s); // after the node: a no-op
  auto again = http::serve(n, {}, http::router{});
  REQUIRE_FALSE(again);
  CHECK(coactor::is(again.error(), errc::node_stopped));
}
