#include "coactor/remote.hpp"

#include <chrono>
#include <future>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "support/deterministic.hpp"
#include "support/networked.hpp"

using namespace coactor;
using coactor::testing::net_options;
using namespace std::chrono_literals;

namespace {

struct point {
  int32_t x = 0;
  int32_t y = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("test::point"), p.x, p.y);
}

using stall_atom = caf::atom_constant<caf::atom("stall")>;

// Answers strings with "echo: ...", points with their mirror image, and never
// answers `stall`.
struct echo_state {
  std::vector<caf::response_promise> stalled;
};

caf::behavior echo(caf::stateful_actor<echo_state>* self) {
  return {
      [](const std::string& x) { return "echo: " + x; },
      [](const point& p) {
        return point{p.y, p.x};
      },
      [self](stall_atom) {
        // Keep the promise pending: the requester must learn about a lost
        // peer from the connection, not from a reply.
        self->state.stalled.push_back(self->make_response_promise());
      },
  };
}

template <class T>
T wait(std::future<T>& f) {
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  return f.get();
}

} // namespace

TEST_CASE("a node with port 0 listens on a port the system picked",
          "[remote]") {
  auto n = testing::make_node(net_options("a"));
  auto p = remote::port(n);
  REQUIRE(p);
  CHECK(*p > 0);
}

TEST_CASE("a networked node runs the sharing scheduler by default",
          "[remote]") {
  auto n = testing::make_node(net_options("a"));
  CHECK(n.options().policy == scheduler_policy::sharing);
}

TEST_CASE("a plain node does not listen and cannot publish", "[remote]") {
  node_options opts;
  opts.log_level = log::level::warn;
  opts.threads = 1;
  auto n = testing::make_node(opts);
  CHECK(is(remote::port(n).error(), errc::invalid_argument));
  auto err = remote::publish(n, "x", n.spawn(echo));
  CHECK(is(err, errc::invalid_config));
}

TEST_CASE("a published actor is found by name and answers across nodes",
          "[remote]") {
  auto a = testing::make_node(net_options("a"));
  auto b = testing::make_node(net_options("b", false));
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  auto p = remote::connect(b, "127.0.0.1", *remote::port(a));
  REQUIRE(p);
  CHECK(p->name == "a");
  auto hdl = remote::lookup(b, *p, "echo");
  REQUIRE(hdl);
  std::promise<caf::expected<std::string>> done;
  auto fut = done.get_future();
  b.spawn([&done, target = *hdl](caf::event_based_actor* self) {
    remote::ask<std::string>(
        self, target, 5s,
        [&done](caf::expected<std::string> x) { done.set_value(std::move(x)); },
        std::string{"hi"});
  });
  auto res = wait(fut);
  REQUIRE(res);
  CHECK(*res == "echo: hi");
}

TEST_CASE("an actor connects and looks up without blocking", "[remote]") {
  auto a = testing::make_node(net_options("a"));
  auto b = testing::make_node(net_options("b", false));
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  auto port = *remote::port(a);
  std::promise<std::string> done;
  auto fut = done.get_future();
  b.spawn([&done, port](caf::event_based_actor* self) {
    remote::async_connect(
        self, "127.0.0.1", port, {},
        [&done, self](caf::expected<remote::peer> p) {
          if (!p) {
            done.set_value(describe(p.error()));
            return;
          }
          remote::async_lookup(
              self, *p, "echo", [&done, self](caf::expected<caf::actor> x) {
                if (!x) {
                  done.set_value(describe(x.error()));
                  return;
                }
                remote::ask<std::string>(
                    self, *x, 5s,
                    [&done](caf::expected<std::string> r) {
                      done.set_value(r ? *r : describe(r.error()));
                    },
                    std::string{"async"});
              });
        });
  });
  CHECK(wait(fut) == "echo: async");
}

TEST_CASE("looking up an unpublished name names the name and the node",
          "[remote]") {
  auto a = testing::make_node(net_options("a"));
  auto b = testing::make_node(net_options("b", false));
  auto p = remote::connect(b, "127.0.0.1", *remote::port(a));
  REQUIRE(p);
  auto hdl = remote::lookup(b, *p, "nobody");
  REQUIRE_FALSE(hdl);
  CHECK(is(hdl.error(), errc::name_not_found));
  auto ctx = context_of(hdl.error());
  CHECK_THAT(ctx, Catch::Contains("'nobody'"));
  CHECK_THAT(ctx, Catch::Contains("127.0.0.1:" + std::to_string(p->port)));
}

TEST_CASE("publishing a name twice is refused", "[remote]") {
  auto a = testing::make_node(net_options("a"));
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  auto err = remote::publish(a, "echo", a.spawn(echo));
  CHECK(is(err, errc::invalid_argument));
  CHECK(remote::unpublish(a.system(), "echo"));
  CHECK_FALSE(remote::publish(a, "echo", a.spawn(echo)));
}

TEST_CASE("connecting to a closed port fails after every attempt, naming it",
          "[remote]") {
  uint16_t closed = 0;
  {
    auto a = testing::make_node(net_options("a"));
    closed = *remote::port(a);
  }
  auto b = testing::make_node(net_options("b", false));
  remote::connect_options opts;
  opts.attempts = 3;
  opts.initial_backoff = 10ms;
  auto p = remote::connect(b, "127.0.0.1", closed, opts);
  REQUIRE_FALSE(p);
  CHECK(is(p.error(), errc::connection_failed));
  auto ctx = context_of(p.error());
  CHECK_THAT(ctx, Catch::Contains("127.0.0.1:" + std::to_string(closed)));
  CHECK_THAT(ctx, Catch::Contains("3 attempt(s)"));
}

TEST_CASE("connect retries until the peer comes up", "[remote]") {
  uint16_t port = 0;
  {
    auto probe = testing::make_node(net_options("probe"));
    port = *remote::port(probe);
  }
  auto b = testing::make_node(net_options("b", false));
  std::promise<caf::expected<remote::peer>> done;
  auto fut = done.get_future();
  remote::connect_options opts;
  opts.attempts = 50;
  opts.initial_backoff = 20ms;
  opts.max_backoff = 100ms;
  b.spawn([&done, port, opts](caf::event_based_actor* self) {
    remote::async_connect(self, "127.0.0.1", port, opts,
                          [&done](caf::expected<remote::peer> p) {
                            done.set_value(std::move(p));
                          });
  });
  auto opts_a = net_options("late");
  opts_a.port = port;
  auto a = testing::make_node(opts_a);
  auto p = wait(fut);
  REQUIRE(p);
  CHECK(p->name == "late");
}

TEST_CASE("a custom type makes the round trip when both nodes register it",
          "[remote]") {
  auto opts_a = net_options("a");
  opts_a.types.add<point>("test::point");
  auto opts_b = net_options("b", false);
  opts_b.types.add<point>("test::point");
  auto a = testing::make_node(opts_a);
  auto b = testing::make_node(opts_b);
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  auto p = remote::connect(b, "127.0.0.1", *remote::port(a));
  REQUIRE(p);
  auto hdl = remote::lookup(b, *p, "echo");
  REQUIRE(hdl);
  std::promise<caf::expected<point>> done;
  auto fut = done.get_future();
  b.spawn([&done, target = *hdl](caf::event_based_actor* self) {
    remote::ask<point>(
        self, target, 5s,
        [&done](caf::expected<point> x) { done.set_value(std::move(x)); },
        point{1, 2});
  });
  auto res = wait(fut);
  REQUIRE(res);
  CHECK(res->x == 2);
  CHECK(res->y == 1);
}

TEST_CASE("a type missing on the peer fails the ask at once, naming it",
          "[remote]") {
  auto a = testing::make_node(net_options("a")); // lacks test::point
  auto opts_b = net_options("b", false);
  opts_b.types.add<point>("test::point");
  auto b = testing::make_node(opts_b);
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  auto p = remote::connect(b, "127.0.0.1", *remote::port(a));
  REQUIRE(p);
  auto hdl = remote::lookup(b, *p, "echo");
  REQUIRE(hdl);
  std::promise<caf::expected<point>> done;
  auto fut = done.get_future();
  b.spawn([&done, target = *hdl](caf::event_based_actor* self) {
    remote::ask<point>(
        self, target, 30s,
        [&done](caf::expected<point> x) { done.set_value(std::move(x)); },
        point{1, 2});
  });
  auto res = wait(fut);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::type_not_registered));
  CHECK_THAT(context_of(res.error()), Catch::Contains("test::point"));
  CHECK_THAT(context_of(res.error()), Catch::Contains("'a' at 127.0.0.1"));
}

TEST_CASE("a type missing on this node fails the ask at once, naming it",
          "[remote]") {
  auto a = testing::make_node(net_options("a"));
  auto b = testing::make_node(net_options("b", false)); // lacks point
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  auto p = remote::connect(b, "127.0.0.1", *remote::port(a));
  REQUIRE(p);
  auto hdl = remote::lookup(b, *p, "echo");
  REQUIRE(hdl);
  std::promise<caf::expected<point>> done;
  auto fut = done.get_future();
  b.spawn([&done, target = *hdl](caf::event_based_actor* self) {
    remote::ask<point>(
        self, target, 30s,
        [&done](caf::expected<point> x) { done.set_value(std::move(x)); },
        point{1, 2});
  });
  auto res = wait(fut);
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::type_not_registered));
  CHECK_THAT(context_of(res.error()), Catch::Contains("point"));
  CHECK_THAT(context_of(res.error()), Catch::Contains("this node"));
}

TEST_CASE("a pending ask fails with connection_failed when the peer stops, "
          "long before its timeout",
          "[remote]") {
  auto a = testing::make_node(net_options("a"));
  auto b = testing::make_node(net_options("b", false));
  REQUIRE_FALSE(remote::publish(a, "echo", a.spawn(echo)));
  auto p = remote::connect(b, "127.0.0.1", *remote::port(a));
  REQUIRE(p);
  auto hdl = remote::lookup(b, *p, "echo");
  REQUIRE(hdl);
  std::promise<caf::expected<std::string>> done;
  auto fut = done.get_future();
  std::promise<void> sent;
  b.spawn([&done, &sent, target = *hdl](caf::event_based_actor* self) {
    // The request timeout (60 s) exceeds the wait below (20 s): an answer at
    // all proves the loss was detected.
    remote::ask<std::string>(
        self, target, 60s,
        [&done](caf::expected<std::string> x) { done.set_value(std::move(x)); },
        stall_atom::value);
    sent.set_value();
  });
  sent.get_future().wait();
  a.stop();
  auto res = wait(fut);
  REQUIRE_FALSE(res);
  CHECK((is(res.error(), errc::connection_failed)
         || is(res.error(), errc::target_down)));
  CHECK_THAT(context_of(res.error()), Catch::Contains("'a' at 127.0.0.1"));
}

TEST_CASE("message_types runs registration functions of other libraries",
          "[remote]") {
  message_types types;
  int calls = 0;
  types.add<point>("test::point")
      .add_registration([&calls](caf::actor_system_config& cfg) {
        ++calls;
        cfg.add_message_type<std::vector<point>>("test::points");
      });
  caf::actor_system_config cfg;
  types.apply(cfg);
  CHECK(calls == 1);
  CHECK(cfg.type_names_by_rtti.count(typeid(point)) == 1);
  CHECK(cfg.type_names_by_rtti.count(typeid(std::vector<point>)) == 1);
  REQUIRE(types.names().size() == 1);
  CHECK(types.names()[0] == "test::point");
}

TEST_CASE("a published actor that exits leaves the registry, freeing its name",
          "[remote]") {
  auto a = testing::make_node(net_options("a"));
  auto first = a.spawn(echo);
  REQUIRE_FALSE(remote::publish(a, "echo", first));
  {
    // Its down message may go out before the registry's exit hook ran (CAF
    // runs exit hooks newest first): the registry checks for an exit.
    caf::scoped_actor self{a.system()};
    self->monitor(first);
    caf::anon_send_exit(first, caf::exit_reason::kill);
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; },
                  caf::after(20s) >> [] {});
    REQUIRE(down);
  }
  CHECK_FALSE(remote::publish(a, "echo", a.spawn(echo)));
}

TEST_CASE("a request guard goes away when the requester exits before the "
          "reply",
          "[remote]") {
  auto a = testing::make_node(net_options("a"));
  auto target = a.spawn(echo); // keeps stalled requests pending
  auto before = remote::detail::guards_alive();
  auto asked = std::make_shared<std::promise<void>>();
  auto asked_f = asked->get_future();
  auto exited = std::make_shared<std::promise<void>>();
  auto exited_f = exited->get_future();
  auto requester
      = a.spawn([target, asked, exited](caf::event_based_actor* self) {
          // CAF runs exit hooks newest first: this one runs after the hook
          // the ask attaches, so when it fires the guard is gone, if ever.
          self->attach_functor([exited] { exited->set_value(); });
          remote::ask<std::string>(
              self, target, std::chrono::hours{1},
              [](caf::expected<std::string>) {}, stall_atom::value);
          asked->set_value();
        });
  REQUIRE(asked_f.wait_for(20s) == std::future_status::ready);
  CHECK(remote::detail::guards_alive() == before + 1);
  caf::anon_send_exit(requester, caf::exit_reason::kill);
  REQUIRE(exited_f.wait_for(20s) == std::future_status::ready);
  // The target lives on; the guard did not wait for it.
  CHECK(remote::detail::guards_alive() == before);
}
