// Tests of plain routes that run on the I/O thread (`run_on::io_thread`),
// which keeps requests to the node's observability server off the node's
// actors.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "coactor/io.hpp"
#include "server_support.hpp"

using namespace std::chrono_literals;
using namespace coactor::testing;
namespace http = coactor::http;

namespace {

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
