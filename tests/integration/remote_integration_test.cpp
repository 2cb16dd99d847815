// Nodes in separate processes on 127.0.0.1: asks, custom types, a killed or
// hung peer, restart, garbage on the port, SIGTERM.
#include "coactor/remote.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "integration_support.hpp"
#include "support/child_process.hpp"
#include "support/deterministic.hpp"
#include "test_types.hpp"

using namespace coactor;
using namespace std::chrono_literals;
using coactor::testing::child_process;
using coactor::testing::point;
using coactor::testing::stall_atom;

using namespace coactor::testing::integration;

TEST_CASE("an actor asks an actor of the coactor tool's node",
          "[integration]") {
#ifndef COACTOR_TOOL
  SUCCEED("the coactor tool is not built");
#else
  auto tool = start_process({COACTOR_TOOL, "node", "--port", "0", "--name",
                             "tool", "--log-level", "warn"});
  auto client = coactor::testing::make_node(client_options());
  auto p = connect_ok(client, tool.port);
  CHECK(p.name == "tool");
  auto echo = lookup_ok(client, p, "echo");
  auto fut = ask_from<std::string>(client, echo, 30s, std::string{"ping"});
  auto res = get_within(fut, 30s);
  INFO(why(res));
  REQUIRE(res);
  CHECK(*res == "ping");
  // SIGTERM ends the node cleanly.
  tool.proc.signal(SIGTERM);
  auto status = tool.proc.wait_exit(30s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
#endif
}

TEST_CASE("a custom type makes the round trip between processes",
          "[integration]") {
  auto peer = start_peer();
  auto client = coactor::testing::make_node(client_options());
  auto p = connect_ok(client, peer.port);
  auto mirror = lookup_ok(client, p, "mirror");
  auto fut = ask_from<point>(client, mirror, 30s, point{3, 4});
  auto res = get_within(fut, 30s);
  INFO(why(res));
  REQUIRE(res);
  CHECK(res->x == 4);
  CHECK(res->y == 3);
}

TEST_CASE("a type the peer process lacks fails the ask, naming the type",
          "[integration]") {
  auto peer = start_peer({"--without-point"});
  auto client = coactor::testing::make_node(client_options());
  auto p = connect_ok(client, peer.port);
  auto echo = lookup_ok(client, p, "echo");
  auto fut = ask_from<point>(client, echo, 30s, point{3, 4});
  auto res = get_within(fut, 30s);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::type_not_registered));
  CHECK_THAT(context_of(res.error()), Catch::Contains("test::point"));
}

TEST_CASE("kill -9 of a peer fails a pending ask long before its timeout",
          "[integration]") {
  auto peer = start_peer();
  auto client = coactor::testing::make_node(client_options());
  auto p = connect_ok(client, peer.port);
  auto stall = lookup_ok(client, p, "stall");
  // Round trip first so the request surely reached the peer.
  auto echo = lookup_ok(client, p, "echo");
  auto warm = ask_from<std::string>(client, echo, 30s, std::string{"x"});
  REQUIRE(get_within(warm, 30s));
  // The request timeout (5 min) is far beyond the bounded wait (10 s):
  // getting the error at all proves that the loss was detected.
  auto fut = ask_from<std::string>(client, stall, std::chrono::minutes{5},
                                   stall_atom::value);
  peer.proc.signal(SIGKILL);
  auto res = get_within(fut, 10s);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::connection_failed));
  CHECK_THAT(context_of(res.error()), Catch::Contains("'peer' at 127.0.0.1:"));
}

TEST_CASE("a hung peer is detected by heartbeats and fails a pending ask",
          "[integration]") {
  auto peer = start_peer();
  auto client = coactor::testing::make_node(client_options());
  auto p = connect_ok(client, peer.port);
  auto stall = lookup_ok(client, p, "stall");
  auto fut = ask_from<std::string>(client, stall, std::chrono::minutes{5},
                                   stall_atom::value);
  // SIGSTOP: the TCP connection stays up, the peer just stops talking.
  peer.proc.signal(SIGSTOP);
  auto res = get_within(fut, 15s);
  peer.proc.signal(SIGCONT);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::connection_failed));
}

TEST_CASE("after a peer restarts, connect retries and lookups work again",
          "[integration]") {
  auto peer = start_peer();
  auto port = peer.port;
  auto client = coactor::testing::make_node(client_options());
  {
    auto p = connect_ok(client, port);
    auto echo = lookup_ok(client, p, "echo");
    auto fut = ask_from<std::string>(client, echo, 30s, std::string{"one"});
    REQUIRE(get_within(fut, 30s));
  }
  peer.proc.signal(SIGKILL);
  REQUIRE(peer.proc.wait_exit(30s));
  // Connect while the peer is still down: retries with backoff until the
  // restarted peer (same port) answers.
  std::promise<caf::expected<remote::peer>> connected;
  auto fut = connected.get_future();
  remote::connect_options opts;
  opts.attempts = 100;
  opts.initial_backoff = 50ms;
  opts.max_backoff = 500ms;
  client.spawn([&connected, port, opts](caf::event_based_actor* self) {
    remote::async_connect(self, "127.0.0.1", port, opts,
                          [&connected](caf::expected<remote::peer> x) {
                            connected.set_value(std::move(x));
                          });
  });
  auto restarted = start_peer({"--port", std::to_string(port)});
  auto p = get_within(fut, 60s);
  INFO(why(p));
  REQUIRE(p);
  auto echo = lookup_ok(client, *p, "echo");
  auto again = ask_from<std::string>(client, echo, 30s, std::string{"two"});
  auto res = get_within(again, 30s);
  REQUIRE(res);
  CHECK(*res == "two");
}

TEST_CASE("garbage and truncated frames on the port leave the node serving "
          "its other peers",
          "[integration]") {
  auto peer = start_peer();
  auto client = coactor::testing::make_node(client_options());
  auto p = connect_ok(client, peer.port);
  auto echo = lookup_ok(client, p, "echo");
  std::mt19937 rng{42};
  std::vector<int> held; // connections left open mid-frame
  for (int round = 0; round < 20; ++round) {
    int fd = raw_connect(peer.port);
    REQUIRE(fd >= 0);
    std::vector<char> junk(1 + rng() % 4096);
    for (auto& c : junk)
      c = static_cast<char>(rng());
    if (round % 4 == 0) {
      // A frame header claiming a payload that never comes, kept open.
      junk.assign(32, 0);
      junk[0] = 1;   // server_handshake
      junk[7] = 100; // payload length
    } else if (round % 4 == 1) {
      junk.resize(std::min<size_t>(junk.size(), 17)); // truncated header
    }
    CHECK(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) >= 0);
    if (round % 4 == 0)
      held.push_back(fd);
    else
      ::close(fd);
    // The established peer keeps getting answers.
    auto fut = ask_from<std::string>(client, echo, 30s,
                                     "round " + std::to_string(round));
    auto res = get_within(fut, 30s);
    INFO(why(res));
    REQUIRE(res);
    CHECK(*res == "round " + std::to_string(round));
  }
  // A new node still connects and gets answers.
  auto other = coactor::testing::make_node(client_options("other"));
  auto q = connect_ok(other, peer.port);
  auto echo2 = lookup_ok(other, q, "echo");
  auto fut = ask_from<std::string>(other, echo2, 30s, std::string{"fresh"});
  auto res = get_within(fut, 30s);
  REQUIRE(res);
  CHECK(*res == "fresh");
  for (int fd : held)
    ::close(fd);
  // The peer process is still alive.
  CHECK_FALSE(peer.proc.wait_exit(0ms));
}

TEST_CASE("the distributed example's producer and consumer run in two "
          "processes",
          "[integration]") {
#ifndef COACTOR_EXAMPLE_CONSUMER
  SUCCEED("the examples are not built");
#else
  auto consumer = start_process(
      {COACTOR_EXAMPLE_CONSUMER, "--port", "0", "--log-level", "warn"});
  auto producer = child_process::start(
      {COACTOR_EXAMPLE_PRODUCER, "--peer-port", std::to_string(consumer.port),
       "--orders", "50", "--log-level", "warn"});
  REQUIRE(producer);
  CHECK(producer->wait_for_line(std::regex{"producer: sent 50 orders"}, 60s));
  auto status = producer->wait_exit(60s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(consumer.proc.wait_for_line(
      std::regex{"consumer: received 50 orders, total 6275 cents"}, 60s));
  auto cstatus = consumer.proc.wait_exit(60s);
  REQUIRE(cstatus);
  CHECK(WEXITSTATUS(*cstatus) == 0);
#endif
}
