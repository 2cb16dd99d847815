// Tests of the `balanced` scheduler policy (a plain node's default), through a
// node: fan-out, request chains, jobs queued behind a blocked worker, one
// worker, foreign threads and stopping with work queued.
#include "coactor/node.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "coactor/ask.hpp"
#include "coactor/start.hpp"
#include "coactor/when_all.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace std::chrono_literals;

namespace {

using self_ptr = caf::event_based_actor*;

// A bound for waits that only fail when the scheduler lost work.
constexpr auto generous = 30s;

node_options balanced_options(std::size_t threads = 2) {
  node_options opts;
  opts.name = "balanced";
  opts.threads = threads;
  opts.policy = scheduler_policy::balanced;
  opts.log_level = log::level::warn;
  return opts;
}

caf::behavior echo() {
  return {[](int x) {
    return x;
  }};
}

// Asks every target for `round`, `rounds` times; returns the sum of replies.
task<long> fan_out(self_ptr self, std::vector<caf::actor> targets, int rounds) {
  long sum = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<ask_awaitable<int, int>> asks;
    asks.reserve(targets.size());
    for (auto& t : targets)
      asks.push_back(ask<int>(self, t, 10s, r));
    auto rs = co_await gather(std::move(asks));
    for (auto& x : rs)
      sum += x ? *x : -1'000'000;
  }
  co_return sum;
}

caf::behavior fan_out_runner(self_ptr self, std::vector<caf::actor> targets,
                             int rounds, std::promise<long>* out) {
  start(self, fan_out(self, std::move(targets), rounds),
        [out](caf::expected<long> x) { out->set_value(x ? *x : -1); });
  return {};
}

// Asks `pong` `n` times in sequence; returns the sum of replies.
task<long> chain(self_ptr self, caf::actor pong, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) {
    auto r = co_await ask<int>(self, pong, 10s, i);
    sum += r ? *r : -1'000'000;
  }
  co_return sum;
}

caf::behavior chain_runner(self_ptr self, caf::actor pong, int n,
                           std::promise<long>* out) {
  start(self, chain(self, std::move(pong), n),
        [out](caf::expected<long> x) { out->set_value(x ? *x : -1); });
  return {};
}

template <class T>
bool ready_within(std::future<T>& f, std::chrono::seconds d) {
  return f.wait_for(d) == std::future_status::ready;
}

} // namespace

TEST_CASE("the balanced scheduler is named and parsed as 'balanced'",
          "[framework]") {
  CHECK(to_string(scheduler_policy::balanced) == "balanced");
  auto parsed = parse_scheduler_policy("balanced");
  REQUIRE(parsed);
  CHECK(*parsed == scheduler_policy::balanced);
}

TEST_CASE("a gather over 10,000 actors gets every reply under the balanced "
          "scheduler",
          "[framework]") {
  auto n = testing::make_node(balanced_options());
  std::vector<caf::actor> targets;
  for (int i = 0; i < 10'000; ++i)
    targets.push_back(n.spawn(echo));
  std::promise<long> done;
  auto f = done.get_future();
  n.spawn(fan_out_runner, targets, 3, &done);
  REQUIRE(ready_within(f, generous));
  CHECK(f.get() == 10'000L * (0 + 1 + 2));
}

TEST_CASE("a request chain between two actors completes under the balanced "
          "scheduler with one worker",
          "[framework]") {
  auto n = testing::make_node(balanced_options(1));
  std::promise<long> done;
  auto f = done.get_future();
  n.spawn(chain_runner, n.spawn(echo), 10'000, &done);
  REQUIRE(ready_within(f, generous));
  CHECK(f.get() == 10'000L * 9'999 / 2);
}

TEST_CASE("a job queued behind a blocked worker runs on an idle worker, "
          "whichever worker blocks",
          "[framework]") {
  // The blocker makes `helper` runnable on its own worker (one queued job,
  // which wakes nobody), then blocks that worker until `helper` ran: only
  // the other worker, looking for work after its idle timeout, can run it.
  // Messages from outside go to an awake worker with nothing queued, else to
  // the workers in turn: the rounds may block either worker.
  constexpr int rounds = 4;
  auto n = testing::make_node(balanced_options(2));
  struct round_state {
    std::promise<void> helper_ran;
    std::promise<bool> blocker_saw;
  };
  auto st = std::make_shared<std::vector<round_state>>(rounds);
  auto helper = n.spawn([st]() -> caf::behavior {
    return {[st](int round) {
      (*st)[round].helper_ran.set_value();
    }};
  });
  auto blocker = n.spawn([=](self_ptr self) -> caf::behavior {
    return {[=](int round) {
      self->send(helper, round);
      auto f = (*st)[round].helper_ran.get_future();
      (*st)[round].blocker_saw.set_value(f.wait_for(generous)
                                         == std::future_status::ready);
    }};
  });
  for (int round = 0; round < rounds; ++round) {
    auto saw = (*st)[round].blocker_saw.get_future();
    caf::anon_send(blocker, round);
    REQUIRE(ready_within(saw, generous + 5s));
    CHECK(saw.get());
  }
}

TEST_CASE("messages from many foreign threads all reach their actors under "
          "the balanced scheduler",
          "[framework]") {
  auto n = testing::make_node(balanced_options());
  auto count = std::make_shared<std::atomic<int>>(0);
  auto all = std::make_shared<std::promise<void>>();
  constexpr int threads = 4;
  constexpr int per_thread = 20'000;
  auto counter = n.spawn([=]() -> caf::behavior {
    return {[=](int) {
      if (++*count == threads * per_thread)
        all->set_value();
    }};
  });
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([counter] {
      for (int i = 0; i < per_thread; ++i)
        caf::anon_send(counter, i);
    });
  for (auto& t : senders)
    t.join();
  auto f = all->get_future();
  REQUIRE(ready_within(f, generous));
  CHECK(count->load() == threads * per_thread);
}

TEST_CASE("a node with the balanced scheduler stops while work is queued",
          "[framework]") {
  // Actors that keep messaging themselves: their jobs are still queued when
  // the node stops; the stop ends them and releases what is left.
  auto n = testing::make_node(balanced_options());
  for (int i = 0; i < 100; ++i) {
    auto a = n.spawn([](self_ptr self) -> caf::behavior {
      return {[self](int x) {
        self->send(self, x + 1);
      }};
    });
    caf::anon_send(a, 0);
  }
  auto report = n.stop(5s);
  CHECK(report.unended.empty());
  CHECK_FALSE(n.running());
}

TEST_CASE("work queued for hidden actors when the node stops still runs",
          "[framework]") {
  // Hidden actors are neither awaited nor ended by the node: at stop, their
  // exit messages may still be queued. The scheduler runs what is queued
  // before its stop markers; releasing those jobs unrun would skip the
  // actors' `on_exit` and never destroy their state (and what it holds).
  constexpr int actors = 50;
  auto destroyed = std::make_shared<std::atomic<int>>(0);
  struct counted_state {
    std::shared_ptr<std::atomic<int>> destroyed;
    ~counted_state() {
      if (destroyed)
        destroyed->fetch_add(1);
    }
  };
  auto n = testing::make_node(balanced_options());
  for (int i = 0; i < actors; ++i) {
    auto a = n.system().spawn<caf::hidden>(
        [destroyed](caf::stateful_actor<counted_state>* self) -> caf::behavior {
          self->state.destroyed = destroyed;
          return {[](int) {
          }};
        });
    for (int k = 0; k < 100; ++k)
      caf::anon_send(a, k);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  auto report = n.stop(5s);
  CHECK(report.clean());
  CHECK(destroyed->load() == actors);
}
