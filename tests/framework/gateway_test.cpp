#include "coactor/gateway.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/metrics.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace std::chrono_literals;

namespace {

using add_atom = caf::atom_constant<caf::atom("add")>;
using hang_atom = caf::atom_constant<caf::atom("hang")>;
using split_atom = caf::atom_constant<caf::atom("split")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

caf::behavior calculator(caf::event_based_actor* self) {
  return {
      [](add_atom, int x, int y) { return x + y; },
      [](split_atom, int x) { return caf::make_message(x / 10, x % 10); },
      [](ping_atom) {},
      [self](hang_atom) {
        // Never answers (the promise is kept alive by the actor's state).
        auto rp = self->make_response_promise<int>();
        self->attach_functor([rp] {});
        return rp;
      },
  };
}

using typed_adder = caf::typed_actor<caf::replies_to<int, int>::with<int>>;

typed_adder::behavior_type typed_adder_impl() {
  return {[](int x, int y) {
    return x + y;
  }};
}

} // namespace

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "async_ask calls back with the reply", "[framework]") {
  auto calc = spawn(calculator);
  std::optional<caf::expected<int>> got;
  async_ask<int>(
      node(), calc, 1s, [&got](caf::expected<int> x) { got = std::move(x); },
      add_atom::value, 40, 2);
  CHECK_FALSE(got); // asynchronous
  run();
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == 42);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "async_ask handles void, multi-value and typed replies",
                 "[framework]") {
  auto calc = spawn(calculator);
  auto typed = spawn(typed_adder_impl);
  auto f1 = ask_future<void>(node(), calc, 1s, ping_atom::value);
  auto f2 = ask_future<std::tuple<int, int>>(node(), calc, 1s,
                                             split_atom::value, 42);
  auto f3 = ask_future<int>(node(), typed, 1s, 1, 2);
  run();
  REQUIRE(f1.wait_for(0s) == std::future_status::ready);
  CHECK(f1.get());
  auto r2 = f2.get();
  REQUIRE(r2);
  CHECK(*r2 == std::make_tuple(4, 2));
  auto r3 = f3.get();
  REQUIRE(r3);
  CHECK(*r3 == 3);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "the future form against a dead target returns an error",
                 "[framework]") {
  auto calc = spawn(calculator);
  caf::anon_send_exit(calc, caf::exit_reason::kill);
  run();
  auto fut = ask_future<int>(node(), calc, 1s, add_atom::value, 1, 2);
  run();
  REQUIRE(fut.wait_for(0s) == std::future_status::ready);
  auto res = fut.get();
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::target_down));
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a null target or a bad timeout fails at once",
                 "[framework]") {
  auto calc = spawn(calculator);
  auto f1 = ask_future<int>(node(), caf::actor{}, 1s, add_atom::value, 1, 2);
  REQUIRE(f1.wait_for(0s) == std::future_status::ready);
  CHECK(is(f1.get().error(), errc::invalid_argument));
  auto f2 = ask_future<int>(node(), calc, 0s, add_atom::value, 1, 2);
  REQUIRE(f2.wait_for(0s) == std::future_status::ready);
  CHECK(is(f2.get().error(), errc::invalid_argument));
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a target that never answers times out", "[framework]") {
  auto calc = spawn(calculator);
  auto fut = ask_future<int>(node(), calc, 5s, hang_atom::value);
  run();
  CHECK(fut.wait_for(0s) == std::future_status::timeout);
  advance(4s);
  CHECK(fut.wait_for(0s) == std::future_status::timeout);
  advance(1s);
  REQUIRE(fut.wait_for(0s) == std::future_status::ready);
  auto res = fut.get();
  REQUIRE_FALSE(res);
  INFO(describe(res.error()));
  CHECK(is(res.error(), errc::timeout));
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a reply of the wrong type is an unexpected reply",
                 "[framework]") {
  auto calc = spawn(calculator);
  auto fut = ask_future<std::string>(node(), calc, 1s, add_atom::value, 1, 2);
  run();
  auto res = fut.get();
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::unexpected_reply));
}

TEST_CASE("a pending ask completes with node_stopped when the node stops",
          "[framework]") {
  auto n = testing::make_node(testing::deterministic_options());
  auto calc = n.spawn(calculator);
  auto fut = ask_future<int>(n, calc, 1h, hang_atom::value);
  n.test_coordinator().run();
  CHECK(fut.wait_for(0s) == std::future_status::timeout);
  calc = nullptr;
  n.stop();
  REQUIRE(fut.wait_for(0s) == std::future_status::ready);
  auto res = fut.get();
  REQUIRE_FALSE(res);
  CHECK(is(res.error(), errc::node_stopped));
  auto late = ask_future<int>(n, caf::actor{}, 1s, hang_atom::value);
  CHECK_FALSE(late.get());
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "asks through the gateway are counted in the node's metrics",
                 "[framework][metrics]") {
  auto calc = spawn(calculator);
  std::vector<std::future<caf::expected<int>>> futs;
  for (int i = 0; i < 4; ++i)
    futs.push_back(ask_future<int>(node(), calc, 1s, add_atom::value, i, 1));
  run();
  for (int i = 0; i < 4; ++i)
    CHECK(futs[i].get() == i + 1);
  auto text = metrics::of(node()).to_prometheus();
  INFO(text);
  CHECK(text.find("\ncoactor_gateway_calls_total 4\n") != std::string::npos);
  CHECK(text.find("\ncoactor_gateway_refused_total 0\n") != std::string::npos);
}

TEST_CASE("a stopped node fails asks on the calling thread", "[framework]") {
  auto n = testing::make_node(testing::deterministic_options());
  auto calc = n.spawn(calculator);
  n.stop();
  std::optional<caf::error> err;
  async_ask<int>(
      n, calc, 1s, [&err](caf::expected<int> x) { err = x.error(); },
      add_atom::value, 1, 2);
  REQUIRE(err);
  CHECK(is(*err, errc::node_stopped));
}

TEST_CASE("the gateway callback form serves many request threads at once",
          "[framework]") {
  auto opts = testing::deterministic_options();
  opts.policy = node_options{}.policy; // the default, real scheduler
  opts.threads = 2;
  auto n = testing::make_node(opts);
  auto calc = n.spawn(calculator);
  constexpr int threads = 4;
  constexpr int per_thread = 2'000;
  std::mutex mtx;
  std::condition_variable cv;
  int answered = 0;
  long long sum = 0;
  int errors = 0;
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        async_ask<int>(
            n, calc, 30s,
            [&](caf::expected<int> x) {
              std::lock_guard<std::mutex> guard{mtx};
              if (x)
                sum += *x;
              else
                ++errors;
              if (++answered == threads * per_thread)
                cv.notify_all();
            },
            add_atom::value, t, i);
    });
  for (auto& c : clients)
    c.join();
  {
    std::unique_lock<std::mutex> guard{mtx};
    REQUIRE(cv.wait_for(guard, 60s,
                        [&] { return answered == threads * per_thread; }));
  }
  CHECK(errors == 0);
  long long expected = 0;
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < per_thread; ++i)
      expected += t + i;
  CHECK(sum == expected);
  // A sequential future round trip from this thread too.
  auto res = ask_future<int>(n, calc, 30s, add_atom::value, 20, 22).get();
  REQUIRE(res);
  CHECK(*res == 42);
  calc = nullptr;
  CHECK(n.stop().clean());
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "asks with different timeouts time out in deadline order",
                 "[framework]") {
  auto calc = spawn(calculator);
  auto slow = ask_future<int>(node(), calc, 10s, hang_atom::value);
  auto fast = ask_future<int>(node(), calc, 2s, hang_atom::value);
  auto answered = ask_future<int>(node(), calc, 1s, add_atom::value, 1, 1);
  run();
  REQUIRE(answered.wait_for(0s) == std::future_status::ready);
  CHECK(answered.get() == 2);
  advance(2s);
  REQUIRE(fast.wait_for(0s) == std::future_status::ready);
  CHECK(is(fast.get().error(), errc::timeout));
  CHECK(slow.wait_for(0s) == std::future_status::timeout);
  advance(7s);
  CHECK(slow.wait_for(0s) == std::future_status::timeout);
  advance(1s);
  REQUIRE(slow.wait_for(0s) == std::future_status::ready);
  CHECK(is(slow.get().error(), errc::timeout));
}

TEST_CASE("a reply that arrived just before the node stopped still reaches "
          "its callback",
          "[framework]") {
  auto n = testing::make_node(testing::deterministic_options());
  auto calc = n.spawn(calculator);
  auto& sched = n.test_coordinator();
  sched.run(); // calculator started
  int calls = 0;
  std::optional<caf::expected<int>> got;
  async_ask<int>(
      n, calc, 1s,
      [&](caf::expected<int> x) {
        ++calls;
        got = std::move(x);
      },
      add_atom::value, 1, 2);
  // One message each: the gateway sends the request, the calculator
  // replies, the gateway takes the reply (its callback runs later, in a
  // batch with any other replies).
  for (int i = 0; i < 3; ++i)
    REQUIRE(sched.try_run_once());
  CHECK_FALSE(got); // settled, not yet delivered
  calc = nullptr;
  n.stop();
  CHECK(calls == 1);
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == 3);
}
