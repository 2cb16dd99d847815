#include "coactor/node.hpp"

#include <csignal>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace std::chrono_literals;

namespace {

node_options quiet_options(std::string name = "n") {
  node_options opts;
  opts.name = std::move(name);
  opts.threads = 2;
  opts.log_level = log::level::error;
  return opts;
}

caf::behavior doubler(caf::event_based_actor*) {
  return {[](int x) {
    return 2 * x;
  }};
}

struct refuser_state {
  static inline const char* name = "refuser";
};

// Ignores every exit message but `kill`: the actor a forgotten shutdown path
// leaves behind.
caf::behavior refuser(caf::stateful_actor<refuser_state>* self) {
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](int x) {
    return x;
  }};
}

// Sends `x` to `target` from a scoped actor and returns the reply or error.
caf::expected<int> ask_int(caf::actor_system& sys, const caf::actor& target,
                           int x) {
  caf::scoped_actor self{sys};
  caf::expected<int> result{caf::sec::request_timeout};
  self->request(target, 5s, x)
      .receive([&](int y) { result = y; },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

TEST_CASE("a node runs actors that answer requests", "[framework]") {
  auto n = testing::make_node(quiet_options());
  REQUIRE(n.running());
  auto a = n.spawn(doubler);
  CHECK(ask_int(n.system(), a, 21) == 42);
}

TEST_CASE("stop ends every owned actor and reports a clean stop",
          "[framework]") {
  auto n = testing::make_node(quiet_options());
  std::vector<caf::actor> actors; // unreferenced actors end on their own
  for (int i = 0; i < 10; ++i)
    actors.push_back(n.spawn(doubler));
  CHECK(n.owned_alive() == 10);
  auto report = n.stop(5s);
  CHECK(report.clean());
  CHECK_FALSE(n.running());
  // Stopping again is harmless.
  CHECK(n.stop(1s).clean());
}

TEST_CASE("a stopped node can be started again", "[framework]") {
  auto n = testing::make_node(quiet_options());
  n.spawn(doubler);
  REQUIRE(n.stop(5s).clean());
  REQUIRE_FALSE(n.start());
  REQUIRE(n.running());
  auto a = n.spawn(doubler);
  CHECK(ask_int(n.system(), a, 5) == 10);
}

TEST_CASE("two nodes in one process are independent", "[framework]") {
  auto first = testing::make_node(quiet_options("first"));
  auto second = testing::make_node(quiet_options("second"));
  auto a = first.spawn(doubler);
  auto b = second.spawn(doubler);
  CHECK(ask_int(first.system(), a, 1) == 2);
  CHECK(ask_int(second.system(), b, 2) == 4);
  REQUIRE(first.stop(5s).clean());
  CHECK(second.running());
  CHECK(ask_int(second.system(), b, 3) == 6);
}

TEST_CASE("stop returns by its deadline and names an actor that refuses to "
          "end",
          "[framework]") {
  auto n = testing::make_node(quiet_options());
  n.spawn(doubler);
  auto stubborn = n.spawn(refuser);
  auto start = std::chrono::steady_clock::now();
  // The deadline must cover the doubler's exit on a loaded machine (a CI run
  // once saw it still running after 200 ms); the refuser never ends.
  auto report = n.stop(2s);
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (auto& u : report.unended)
    UNSCOPED_INFO("unended: " << u.name << " #" << u.id);
  REQUIRE(report.unended.size() == 1);
  CHECK(report.unended[0].name == "refuser");
  CHECK(report.unended[0].id == stubborn.id());
  CHECK_FALSE(n.running());
  // Bounded by the deadline plus the kill grace period, far from a hang.
  CHECK(elapsed >= 2s);
  CHECK(elapsed < 6s);
}

TEST_CASE("request_stop from inside an actor stops the node", "[framework]") {
  auto n = testing::make_node(quiet_options());
  auto* np = &n;
  auto a = n.spawn([np](caf::event_based_actor*) -> caf::behavior {
    return {[np](int) {
      np->request_stop();
    }};
  });
  caf::anon_send(a, 1);
  REQUIRE(n.wait_for_stop(10s));
  CHECK_FALSE(n.running());
}

TEST_CASE("SIGTERM stops a node that handles signals", "[framework]") {
  auto opts = quiet_options();
  opts.handle_signals = true;
  auto n = testing::make_node(opts);
  n.spawn(doubler);
  std::raise(SIGTERM);
  REQUIRE(n.wait_for_stop(10s));
  CHECK_FALSE(n.running());
}

TEST_CASE("the destructor stops the node and ends its actors",
          "[framework]") {
  auto ended = std::make_shared<std::atomic<int>>(0);
  {
    auto n = testing::make_node(quiet_options());
    std::vector<caf::actor> actors; // unreferenced actors end on their own
    for (int i = 0; i < 3; ++i) {
      actors.push_back(n.spawn(doubler));
      caf::actor_cast<caf::abstract_actor*>(actors.back())
        ->attach_functor([ended] { ++*ended; });
    }
    CHECK(*ended == 0);
  }
  CHECK(*ended == 3);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "the testing scheduler runs nothing until driven",
                 "[framework]") {
  auto a = spawn(doubler);
  self->send(a, 4);
  CHECK_FALSE(receive_now<int>()); // not processed yet
  self->send(a, 4);
  run();
  CHECK(receive_now<int>() == 8);
  CHECK(receive_now<int>() == 8);
}
