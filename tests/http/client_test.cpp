// Tests of coactor::http::get and fetch against coactor's own server and a
// canned-bytes peer: statuses, errors by phase, limits, keep-alive, the
// per-host limit, redirects and an exiting actor.
#include "coactor/http/client.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/coroutines.hpp"
#include "coactor/http/server.hpp"
#include "coactor/metrics.hpp"
#include "coactor/node.hpp"
#include "server_support.hpp"
#include "support/frame_counter.hpp"
#include "test_server.hpp"

using namespace std::chrono_literals;
using coactor::errc;
using coactor::testing::frame_counter;
namespace http = coactor::http;
namespace asio = boost::asio;

namespace {

using self_ptr = caf::event_based_actor*;
using result = caf::expected<http::response>;

// -- the server side ----------------------------------------------------------

std::atomic<int> in_handler{0};
std::atomic<int> most_in_handler{0};

coactor::task<http::response> busy(self_ptr self, http::request) {
  auto now = ++in_handler;
  for (auto m = most_in_handler.load(); now > m;)
    most_in_handler.compare_exchange_weak(m, now);
  co_await coactor::sleep(self, 50ms);
  --in_handler;
  co_return http::response::text(200, "busy");
}

// Set when `slow` started handling a request.
std::promise<void>* slow_started = nullptr;

// Answers after the number of milliseconds in its query ("/delay?250").
coactor::task<http::response> delayed(self_ptr self, http::request req) {
  auto ms = std::stoi(std::string{req.query()});
  co_await coactor::sleep(self, std::chrono::milliseconds{ms});
  co_return http::response::text(200, std::to_string(ms));
}

coactor::task<http::response> slow(self_ptr self, http::request) {
  if (slow_started != nullptr)
    std::exchange(slow_started, nullptr)->set_value();
  co_await coactor::sleep(self, 2s);
  co_return http::response::text(200, "late");
}

http::response echo(const http::request& req) {
  auto r = http::response::text(200, req.method + " " + req.body);
  r.fields.emplace_back("X-Seen-Agent", std::string{req.header("User-Agent")});
  return r;
}

http::response moved(const http::request&) {
  return {302, {{"Location", "/echo"}}, ""};
}

http::server serve(coactor::node& n) {
  http::router r;
  r.route("GET", "/echo", http::function_handler{echo})
      .route("POST", "/echo", http::function_handler{echo})
      .route("GET", "/old", http::function_handler{moved})
      .route("GET", "/loop", http::function_handler{[](const http::request&) {
               return http::response{302, {{"Location", "/loop"}}, ""};
             }})
      .route("GET", "/busy", busy)
      .route("GET", "/slow", slow)
      .route("GET", "/delay", delayed)
      .route("GET", "/big", http::function_handler{[](const http::request&) {
               return http::response::text(200, std::string(10'000, 'x'));
             }});
  auto s = http::serve(n, {}, std::move(r));
  REQUIRE(s);
  return *s;
}

/// A peer that answers one connection with canned bytes, then writes
/// `tail` over and over while the client reads (an endless body), then
/// closes.
class canned_peer {
 public:
  explicit canned_peer(std::string bytes, std::string tail = {})
      : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_
        = std::thread{[this, bytes = std::move(bytes), tail = std::move(tail)] {
            boost::system::error_code ec;
            asio::ip::tcp::socket sock{ioc_};
            acceptor_.accept(sock, ec);
            if (ec)
              return;
            asio::streambuf in;
            asio::read_until(sock, in, "\r\n\r\n", ec);
            asio::write(sock, asio::buffer(bytes), ec);
            while (!ec && !tail.empty()) // ends when the client closes
              asio::write(sock, asio::buffer(tail), ec);
            sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
          }};
  }
  ~canned_peer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:"
           + std::to_string(acceptor_.local_endpoint().port()) + "/";
  }

 private:
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

// -- the client side ----------------------------------------------------------

coactor::task<void> one(self_ptr self, std::string url, http::request req,
                        http::client_options opts, std::promise<result>* out) {
  frame_counter fc;
  out->set_value(co_await http::fetch(self, std::move(url), std::move(req),
                                      std::move(opts)));
}

caf::behavior one_actor(self_ptr self, std::string url, http::request req,
                        http::client_options opts, std::promise<result>* out) {
  coactor::start(
      self, one(self, std::move(url), std::move(req), std::move(opts), out));
  return {[](int) {
  }};
}

result fetch(coactor::node& n, std::string url, http::request req = {},
             http::client_options opts = {}) {
  std::promise<result> p;
  auto f = p.get_future();
  n.spawn(one_actor, std::move(url), std::move(req), std::move(opts), &p);
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

coactor::task<std::vector<result>> many(self_ptr self, std::string url, int k,
                                        http::client_options opts) {
  std::vector<http::fetch_awaitable> calls;
  for (int i = 0; i < k; ++i)
    calls.push_back(http::fetch(self, url, http::request{}, opts));
  co_return co_await coactor::gather(std::move(calls));
}

caf::behavior many_actor(self_ptr self, std::string url, int k,
                         http::client_options opts,
                         std::promise<std::vector<result>>* out) {
  coactor::start(self, many(self, std::move(url), k, std::move(opts)),
                 [out](caf::expected<std::vector<result>> r) {
                   out->set_value(r ? std::move(*r) : std::vector<result>{});
                 });
  return {[](int) {
  }};
}

coactor::task<std::vector<result>> spread(self_ptr self, std::string base) {
  std::vector<http::fetch_awaitable> calls;
  for (int ms = 100; ms <= 1000; ms += 100)
    calls.push_back(http::get(self, base + "/delay?" + std::to_string(ms), 5s));
  co_return co_await coactor::gather(std::move(calls));
}

caf::behavior spread_actor(self_ptr self, std::string base,
                           std::promise<std::vector<result>>* out) {
  coactor::start(self, spread(self, std::move(base)),
                 [out](caf::expected<std::vector<result>> r) {
                   out->set_value(r ? std::move(*r) : std::vector<result>{});
                 });
  return {[](int) {
  }};
}

std::string context(const result& r) {
  return r ? std::string{} : coactor::context_of(r.error());
}

} // namespace

TEST_CASE("a GET yields status, header fields and body, a POST sends its "
          "body, a 404 is a response",
          "[http]") {
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  auto r = fetch(n, s.url() + "/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "GET ");
  CHECK(r->header("x-seen-agent") == "coactor");
  CHECK(r->header("Content-Type") == "text/plain; charset=utf-8");
  http::request post;
  post.method = "POST";
  post.body = "payload";
  auto p = fetch(n, s.url() + "/echo", post);
  REQUIRE(p);
  CHECK(p->body == "POST payload");
  auto missing = fetch(n, s.url() + "/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("errors name the phase: refused connect, unknown host, bad URL, "
          "timeout",
          "[http]") {
  auto n = coactor::testing::make_http_node();
  auto refused = fetch(n, "http://127.0.0.1:1/x");
  REQUIRE_FALSE(refused);
  CHECK(coactor::is(refused.error(), errc::connection_failed));
  CHECK(context(refused).find("127.0.0.1:1/x: connect") != std::string::npos);
  auto unknown = fetch(n, "http://no-such-host.invalid/");
  REQUIRE_FALSE(unknown);
  CHECK(coactor::is(unknown.error(), errc::resolve_failed));
  CHECK(context(unknown).find("no-such-host.invalid") != std::string::npos);
  auto bad = fetch(n, "ftp://example/");
  REQUIRE_FALSE(bad);
  CHECK(coactor::is(bad.error(), errc::invalid_argument));
  auto s = serve(n);
  http::client_options quick;
  quick.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto late = fetch(n, s.url() + "/slow", {}, quick);
  REQUIRE_FALSE(late);
  CHECK(coactor::is(late.error(), errc::timeout));
  CHECK(context(late).find("read") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < 1900ms);
}

TEST_CASE("a chunked response arrives joined", "[http]") {
  auto n = coactor::testing::make_http_node();
  canned_peer peer{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n"
                   "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"};
  auto r = fetch(n, peer.url());
  REQUIRE(r);
  CHECK(r->body == "hello, world");
}

TEST_CASE("a garbage response is a protocol_violation", "[http]") {
  auto n = coactor::testing::make_http_node();
  canned_peer peer{"SSH-2.0-OpenSSH_9.2\r\n\r\n"};
  auto r = fetch(n, peer.url());
  REQUIRE_FALSE(r);
  CHECK(coactor::is(r.error(), errc::protocol_violation));
}

TEST_CASE("a peer closing mid-body is an error, not a short body", "[http]") {
  auto n = coactor::testing::make_http_node();
  canned_peer peer{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                   "only ten b"};
  auto r = fetch(n, peer.url());
  REQUIRE_FALSE(r);
  CHECK((coactor::is(r.error(), errc::connection_failed)
         || coactor::is(r.error(), errc::protocol_violation)));
  CHECK(context(r).find("read") != std::string::npos);
}

TEST_CASE("an endless chunked body stops at max_body_bytes", "[http]") {
  auto n = coactor::testing::make_http_node();
  canned_peer peer{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                   "400\r\n" + std::string(1024, 'z') + "\r\n"};
  http::client_options opts;
  opts.max_body_bytes = 64 * 1024;
  auto r = fetch(n, peer.url(), {}, opts);
  REQUIRE_FALSE(r);
  CHECK(coactor::is(r.error(), errc::resource_exhausted));
}

TEST_CASE("a peer that accepts and never answers is a timeout", "[http]") {
  auto n = coactor::testing::make_http_node();
  asio::io_context ioc;
  asio::ip::tcp::acceptor silent{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  http::client_options quick;
  quick.timeout = 300ms;
  auto r = fetch(n,
                 "http://127.0.0.1:"
                     + std::to_string(silent.local_endpoint().port()) + "/",
                 {}, quick);
  REQUIRE_FALSE(r);
  CHECK(coactor::is(r.error(), errc::timeout));
}

TEST_CASE("a body over max_body_bytes is resource_exhausted", "[http]") {
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  http::client_options opts;
  opts.max_body_bytes = 1000;
  auto r = fetch(n, s.url() + "/big", {}, opts);
  INFO((r ? std::to_string(r->status) + " " + r->body.substr(0, 200) : ""));
  REQUIRE_FALSE(r);
  CHECK(coactor::is(r.error(), errc::resource_exhausted));
  auto ok = fetch(n, s.url() + "/big");
  REQUIRE(ok);
  CHECK(ok->body.size() == 10'000);
}

TEST_CASE("sequential requests to a host reuse one keep-alive connection",
          "[http]") {
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  for (int i = 0; i < 5; ++i) {
    auto r = fetch(n, s.url() + "/echo");
    REQUIRE(r);
  }
  CHECK(s.stats().requests == 5);
  CHECK(s.stats().open_connections == 1);
}

TEST_CASE("client exchanges are counted by server and status, with their "
          "latency and open connections",
          "[http][metrics]") {
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  for (int i = 0; i < 3; ++i)
    REQUIRE(fetch(n, s.url() + "/echo"));
  REQUIRE(fetch(n, s.url() + "/nowhere")); // a 404 is a response
  REQUIRE_FALSE(fetch(n, "http://127.0.0.1:1/x"));
  auto text = coactor::metrics::of(n).to_prometheus();
  INFO(text);
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  auto host = "http://127.0.0.1:" + std::to_string(s.port());
  CHECK(has("coactor_http_client_requests_total{host=\"" + host
            + "\",status=\"200\"} 3"));
  CHECK(has("coactor_http_client_requests_total{host=\"" + host
            + "\",status=\"404\"} 1"));
  CHECK(has("coactor_http_client_requests_total{host=\"http://"
            "127.0.0.1:1\",status=\"connection_failed\"} 1"));
  CHECK(has("coactor_http_client_request_duration_seconds_count{host=\"" + host
            + "\"} 4"));
  CHECK(has("coactor_http_client_open_connections 1")); // kept alive
}

TEST_CASE("concurrent requests respect max_connections_per_host", "[http]") {
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  most_in_handler = 0;
  http::client_options opts;
  opts.max_connections_per_host = 2;
  std::promise<std::vector<result>> p;
  auto f = p.get_future();
  n.spawn(many_actor, s.url() + "/busy", 10, opts, &p);
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto rs = f.get();
  REQUIRE(rs.size() == 10);
  for (auto& r : rs)
    CHECK((r && r->status == 200));
  CHECK(most_in_handler <= 2);
  CHECK(most_in_handler >= 1);
  CHECK(s.stats().open_connections <= 2);
}

TEST_CASE("redirects are returned by default and followed when asked, up "
          "to max_redirects",
          "[http]") {
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  auto plain = fetch(n, s.url() + "/old");
  REQUIRE(plain);
  CHECK(plain->status == 302);
  http::client_options follow;
  follow.follow_redirects = true;
  auto followed = fetch(n, s.url() + "/old", {}, follow);
  REQUIRE(followed);
  CHECK(followed->status == 200);
  CHECK(followed->body == "GET ");
  auto loop = fetch(n, s.url() + "/loop", {}, follow);
  REQUIRE_FALSE(loop);
  CHECK(coactor::is(loop.error(), errc::protocol_violation));
}

TEST_CASE("an actor exiting during a request destroys the frame and the "
          "node stops cleanly",
          "[http]") {
  frame_counter::reset();
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  std::promise<void> started;
  slow_started = &started;
  std::promise<result> never;
  auto a = n.spawn(one_actor, s.url() + "/slow", http::request{},
                   http::client_options{}, &never);
  REQUIRE(started.get_future().wait_for(10s) == std::future_status::ready);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  auto report = n.stop(5s);
  CHECK(report.clean());
  CHECK(frame_counter::created() == 1);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE("a gather of ten GETs takes about the slowest, not the sum",
          "[http]") {
  auto n = coactor::testing::make_http_node();
  auto s = serve(n);
  std::promise<std::vector<result>> p;
  auto f = p.get_future();
  auto start = std::chrono::steady_clock::now();
  n.spawn(spread_actor, s.url(), &p);
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto took = std::chrono::steady_clock::now() - start;
  auto rs = f.get();
  REQUIRE(rs.size() == 10);
  for (size_t i = 0; i < rs.size(); ++i) {
    REQUIRE(rs[i]);
    CHECK(rs[i]->body == std::to_string(100 * (i + 1)));
  }
  CHECK(took >= 1000ms);
  CHECK(took < 2s); // the sum would be 5.5 s
}

TEST_CASE("https verifies the server: an unknown CA is a tls_failure, the "
          "right ca_file succeeds",
          "[http]") {
  coactor::testing::tls_test_server tls;
  REQUIRE(tls.ok());
  auto n = coactor::testing::make_http_node();
  auto rejected = fetch(n, tls.url() + "/");
  REQUIRE_FALSE(rejected);
  CHECK(coactor::is(rejected.error(), errc::tls_failure));
  CHECK(context(rejected).find("tls") != std::string::npos);
  http::client_options trusted;
  trusted.ca_file = tls.ca_file();
  auto ok = fetch(n, tls.url() + "/", {}, trusted);
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "tls ok");
  CHECK(tls.accepted() == 2);
}
