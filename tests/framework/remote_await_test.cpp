#include "coactor/remote_await.hpp"

#include <chrono>
#include <future>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/start.hpp"
#include "coactor/task.hpp"
#include "support/deterministic.hpp"
#include "support/networked.hpp"

using namespace coactor;
using coactor::testing::net_options;
using namespace std::chrono_literals;

namespace {

using self_ptr = caf::event_based_actor*;

caf::behavior echo(caf::event_based_actor* self) {
  self->set_default_handler(caf::reflect);
  return {[] {
  }};
}

// Connects, looks up `name` and asks it; yields the reply or the error text.
task<std::string> round_trip(self_ptr self, uint16_t port, std::string name) {
  auto p = co_await remote::await_connect(self, "127.0.0.1", port);
  if (!p)
    co_return "connect: " + describe(p.error());
  auto hdl = co_await remote::await_lookup(self, *p, name);
  if (!hdl)
    co_return "lookup: " + describe(hdl.error());
  std::string msg = "hello";
  auto reply = co_await remote::await_ask<std::string>(self, *hdl, 5s, msg);
  if (!reply)
    co_return "ask: " + describe(reply.error());
  co_return *reply;
}

std::string run(node& n, uint16_t port, std::string name) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto fut = done->get_future();
  n.spawn([done, port, name](self_ptr self) {
    start(self, round_trip(self, port, name),
          [done](caf::expected<std::string> x) {
            done->set_value(x ? *x : describe(x.error()));
          });
  });
  REQUIRE(fut.wait_for(20s) == std::future_status::ready);
  return fut.get();
}

} // namespace

TEST_CASE("a task connects, looks up and asks across nodes", "[remote]") {
  auto a = testing::make_node(net_options("a", true));
  auto b = testing::make_node(net_options("b", false));
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  CHECK(run(b, *remote::port(a), "echo") == "hello");
}

TEST_CASE("a task awaiting a lookup of an unknown name gets name_not_found",
          "[remote]") {
  auto a = testing::make_node(net_options("a", true));
  auto b = testing::make_node(net_options("b", false));
  auto res = run(b, *remote::port(a), "nobody");
  CHECK_THAT(res, Catch::StartsWith("lookup: coactor::name_not_found"));
  CHECK_THAT(res, Catch::Contains("'nobody'"));
}
