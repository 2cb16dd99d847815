// Tests of plain routes that run on the I/O thread (`run_on::io_thread`) and
// of request pacing (`server_options::max_requests_per_second`), the two
// things that keep a flood of requests to the node's observability server
// off the node's actors.
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "coactor/io.hpp"
#include "server_support.hpp"

using namespace std::chrono_literals;
using namespace coactor::testing;
namespace http = coactor::http;

namespace {

using clock_type = std::chrono::steady_clock;

// A plain route answering "ok" that records whether it ran on a thread
// running `ioc` (1) or on another one (0).
http::function_handler where_am_i(boost::asio::io_context* ioc,
                                  std::atomic<int>* on_io) {
  return [ioc, on_io](const http::request&) {
    *on_io = ioc->get_executor().running_in_this_thread() ? 1 : 0;
    return http::response::text(200, "ok");
  };
}

// A plain route answering `text`.
http::function_handler answer(std::string text) {
  return [text](const http::request&) {
    return http::response::text(200, text);
  };
}

// Polls `srv.stats()` until `pred` holds or 5 s passed (no fixed sleep: it
// returns as soon as the server got there).
template <class Pred>
bool stats_reach(http::server& srv, Pred pred) {
  auto deadline = clock_type::now() + 5s;
  while (!pred(srv.stats())) {
    if (clock_type::now() > deadline)
      return false;
    std::this_thread::yield();
  }
  return true;
}

} // namespace

TEST_CASE("a run_on::io_thread route runs on the I/O thread, and a server "
          "of such routes starts no handler actor",
          "[http]") {
  auto n = make_http_node();
  auto ioc = coactor::io::context(n);
  REQUIRE(ioc);
  auto actors_before = n.owned_alive();
  std::atomic<int> on_io{-1};
  auto srv = start_server(n, http::router{}.route("GET", "/here",
                                                  where_am_i(*ioc, &on_io),
                                                  http::run_on::io_thread));
  CHECK(n.owned_alive() == actors_before);
  auto res = get_once(srv.port(), "/here");
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "ok");
  CHECK(on_io == 1);
}

TEST_CASE("a plain route runs in a handler actor by default", "[http]") {
  auto n = make_http_node();
  auto ioc = coactor::io::context(n);
  REQUIRE(ioc);
  auto actors_before = n.owned_alive();
  std::atomic<int> on_io{-1};
  auto srv = start_server(
      n, http::router{}.route("GET", "/there", where_am_i(*ioc, &on_io)));
  CHECK(n.owned_alive() == actors_before + 2); // one per scheduler thread
  CHECK(get_once(srv.port(), "/there").result_int() == 200);
  CHECK(on_io == 0);
}

TEST_CASE("a throwing run_on::io_thread route gets 500 and the server keeps "
          "serving",
          "[http]") {
  auto n = make_http_node();
  auto srv = start_server(
      n, http::router{}
             .route(
                 "GET", "/boom",
                 [](const http::request&) -> http::response {
                   throw std::runtime_error("boom");
                 },
                 http::run_on::io_thread)
             .route("GET", "/fine", answer("fine"), http::run_on::io_thread));
  raw_client c{srv.port()};
  CHECK(c.get("/boom").result_int() == 500);
  auto res = c.get("/fine");
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "fine");
}

TEST_CASE("max_requests_per_second lets a burst through at once, then makes "
          "requests wait for their turn without refusing them",
          "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.max_requests_per_second = 20; // a burst of 20, then one per 50 ms
  auto srv = start_server(
      n,
      http::router{}.route("GET", "/x", answer("x"), http::run_on::io_thread),
      opts);
  raw_client c{srv.port()};
  auto t0 = clock_type::now();
  for (int i = 0; i < 20; ++i)
    REQUIRE(c.get("/x").result_int() == 200);
  CHECK(srv.stats().paced == 0);
  for (int i = 0; i < 20; ++i)
    REQUIRE(c.get("/x").result_int() == 200);
  // The 40th request's turn came 20 intervals after the first request.
  CHECK(clock_type::now() - t0 >= 950ms);
  CHECK(srv.stats().paced > 0);
  CHECK(srv.stats().requests == 40);
}

TEST_CASE("a stopping server answers a request waiting for its turn at once",
          "[http]") {
  auto n = make_http_node();
  http::server_options opts;
  opts.max_requests_per_second = 1; // the second request waits a second
  auto srv
      = start_server(n, http::router{}.route("GET", "/hello", hello), opts);
  raw_client first{srv.port()};
  CHECK(first.get("/hello").result_int() == 200);
  raw_client second{srv.port()};
  second.write("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(stats_reach(srv, [](const auto& s) { return s.paced == 1; }));
  // Within a deadline shorter than the wait: without being answered at
  // once, the request would be cut off by the forced close.
  srv.stop(100ms);
  auto res = second.read();
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "hello /hello");
  CHECK_FALSE(res.keep_alive());
}
