#include "coactor/bridge.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/metrics.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace std::chrono_literals;

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;

// Counts live instances, to show a handler's captures die with the bridge.
struct counted {
  static inline std::atomic<int> alive{0};
  counted() { ++alive; }
  counted(const counted&) { ++alive; }
  counted(counted&&) noexcept { ++alive; }
  ~counted() { --alive; }
};

struct sum_state {
  int sum = 0;
  static inline const char* name = "summer";
};

using summer_actor = caf::typed_actor<caf::replies_to<get_atom>::with<int>>;

} // namespace

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a bridge runs its handler inside an event-based actor",
                 "[framework]") {
  bridge<int> add;
  auto sum = std::make_shared<int>(0);
  auto hdl = spawn([&add, sum](caf::event_based_actor* self) -> caf::behavior {
    add = make_bridge(self, [sum](int x) { *sum += x; });
    return {[sum](get_atom) {
      return *sum;
    }};
  });
  run();
  REQUIRE(add);
  CHECK(add(1));
  CHECK(add(2));
  CHECK(*sum == 0); // nothing runs before the actor does
  run();
  CHECK(*sum == 3);
  CHECK(add.stats().delivered == 2);
  CHECK(add.stats().dropped == 0);
  self->send(hdl, get_atom::value);
  run();
  CHECK(receive_now<int>() == 3);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a bridge reaches the state of a stateful actor",
                 "[framework]") {
  bridge<int> add;
  auto hdl
      = spawn([&add](caf::stateful_actor<sum_state>* self) -> caf::behavior {
          add = make_bridge(self, [self](int x) { self->state.sum += x; });
          return {[self](get_atom) {
            return self->state.sum;
          }};
        });
  run();
  for (int i = 1; i <= 10; ++i)
    add(i);
  run();
  self->send(hdl, get_atom::value);
  run();
  CHECK(receive_now<int>() == 55);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a bridge works for a typed actor without touching its "
                 "interface",
                 "[framework]") {
  bridge<int> add;
  auto hdl = spawn([&add](summer_actor::stateful_pointer<sum_state> self)
                       -> summer_actor::behavior_type {
    add = make_bridge(self, [self](int x) { self->state.sum += x; });
    return {[self](get_atom) {
      return self->state.sum;
    }};
  });
  run();
  add(40);
  add(2);
  run();
  self->send(hdl, get_atom::value);
  run();
  CHECK(receive_now<int>() == 42);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "bridge calls are counted in the node's metrics by outcome",
                 "[framework][metrics]") {
  bridge<int> call;
  auto hdl = spawn([&call](caf::event_based_actor* self) -> caf::behavior {
    call = make_bridge(self, [](int x) {
      if (x < 0)
        throw std::runtime_error("negative");
    });
    return {[](get_atom) {
    }};
  });
  run();
  for (int x : {1, 2, -1, 3})
    call(x);
  run();
  call.stop();
  call(4); // dropped: stopped
  run();
  auto text = metrics::of(node()).to_prometheus();
  INFO(text);
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  CHECK(has("coactor_bridge_calls_total{outcome=\"delivered\"} 4"));
  CHECK(has("coactor_bridge_calls_total{outcome=\"failed\"} 1"));
  CHECK(has("coactor_bridge_calls_total{outcome=\"dropped\"} 1"));
  CHECK(call.stats().dropped == 1); // the bridge's own figures agree
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a late call after the actor exited is dropped and counted",
                 "[framework]") {
  bridge<int> add;
  auto ran = std::make_shared<int>(0);
  auto hdl = spawn([&add, ran](caf::event_based_actor* self) -> caf::behavior {
    add = make_bridge(self, [ran](int) { ++*ran; });
    return {[](get_atom) {
    }};
  });
  run();
  add(1);
  run();
  CHECK(*ran == 1);
  SECTION("while a handle keeps the dead actor's memory alive") {
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    run();
    add(2); // handed to a closed mailbox, no exception
    run();
    CHECK(add.stats().dropped == 1);
  }
  SECTION("after the last handle is gone") {
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    hdl = nullptr;
    run();
    CHECK_FALSE(add(2));
    CHECK_FALSE(add(3));
    CHECK(add.stats().dropped == 2);
  }
  CHECK(*ran == 1);
  CHECK(add.stats().delivered == 1);
  CHECK(add.stats().dropped >= 1);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "calls queued when the actor exits are dropped and counted",
                 "[framework]") {
  bridge<int> add;
  auto ran = std::make_shared<int>(0);
  auto hdl = spawn([&add, ran](caf::event_based_actor* self) -> caf::behavior {
    add = make_bridge(self, [ran](int) { ++*ran; });
    return {[](get_atom) {
    }};
  });
  run();
  caf::anon_send_exit(hdl, caf::exit_reason::kill); // queued first
  for (int i = 0; i < 5; ++i)
    CHECK(add(i)); // handed over: the actor still lives
  run();
  CHECK(*ran == 0);
  CHECK(add.stats().dropped == 5);
  CHECK(add.stats().delivered == 0);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "after stop no handler starts, not even for calls in flight",
                 "[framework]") {
  bridge<int> add;
  auto ran = std::make_shared<int>(0);
  auto hdl = spawn([&add, ran](caf::event_based_actor* self) -> caf::behavior {
    add = make_bridge(self, [ran](int) { ++*ran; });
    return {[](get_atom) {
    }};
  });
  run();
  add(1);
  run();
  add(2); // in flight when the bridge stops
  auto copy = add;
  copy.stop();
  CHECK(add.stopped());
  CHECK_FALSE(add(3));
  run();
  CHECK(*ran == 1);
  CHECK(add.stats().delivered == 1);
  CHECK(add.stats().dropped == 2);
  add.stop(); // idempotent
  CHECK(add.stats().dropped == 2);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "stopping a bridge releases its handler inside the actor",
                 "[framework]") {
  bridge<> ping;
  caf::actor hdl;
  {
    counted token;
    hdl = spawn([&ping, token](caf::event_based_actor* self) -> caf::behavior {
      ping = make_bridge(self, [token] {});
      return {[](get_atom) {
      }};
    });
  }
  run();
  CHECK(counted::alive > 0);
  ping();
  run();
  CHECK(counted::alive > 0);
  ping.stop();
  run();
  CHECK(counted::alive == 0);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a one-shot bridge runs once and drops every later call",
                 "[framework]") {
  bridge<std::string> done;
  auto got = std::make_shared<std::vector<std::string>>();
  auto hdl = spawn([&done, got](caf::event_based_actor* self) -> caf::behavior {
    // A move-only handler is fine.
    auto owned = std::make_unique<int>(7);
    done = make_one_shot_bridge<std::string>(
        self, [got, owned = std::move(owned)](std::string s) {
          got->push_back(s + std::to_string(*owned));
        });
    return {[](get_atom) {
    }};
  });
  run();
  CHECK(done("first"));
  CHECK_FALSE(done("second"));
  run();
  CHECK_FALSE(done("third"));
  REQUIRE(got->size() == 1);
  CHECK(got->front() == "first7");
  CHECK(done.stats().delivered == 1);
  CHECK(done.stats().dropped == 2);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a throwing handler is counted and the actor carries on",
                 "[framework]") {
  bridge<int> add;
  auto sum = std::make_shared<int>(0);
  auto hdl = spawn([&add, sum](caf::event_based_actor* self) -> caf::behavior {
    add = make_bridge(self, [sum](int x) {
      if (x < 0)
        throw std::runtime_error("negative");
      *sum += x;
    });
    return {[sum](get_atom) {
      return *sum;
    }};
  });
  run();
  add(1);
  add(-1);
  add(2);
  run();
  CHECK(add.stats().failed == 1);
  CHECK(add.stats().delivered == 3);
  self->send(hdl, get_atom::value);
  run();
  CHECK(receive_now<int>() == 3);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "an empty bridge drops calls without crashing",
                 "[framework]") {
  bridge<int> nothing;
  CHECK_FALSE(nothing);
  CHECK_FALSE(nothing(1));
  nothing.stop();
  CHECK(nothing.stopped());
}

TEST_CASE("eight threads times 100000 calls arrive exactly once each, in "
          "order per thread",
          "[framework]") {
  constexpr int threads = 8;
  constexpr int calls = 100'000;
  auto opts = testing::deterministic_options();
  opts.policy = node_options{}.policy; // the default, real scheduler
  opts.threads = 2;
  auto n = testing::make_node(opts);
  struct seen_state {
    std::array<int, threads> next{};
    int total = 0;
    int out_of_order = 0;
  };
  std::promise<bridge<int, int>> made;
  std::promise<seen_state> finished;
  auto hdl = n.spawn([&made, &finished](caf::event_based_actor* self) {
    auto st = std::make_shared<seen_state>();
    made.set_value(make_bridge(self, [st, &finished](int thread, int seq) {
      if (st->next[thread] != seq)
        ++st->out_of_order;
      st->next[thread] = seq + 1;
      if (++st->total == threads * calls)
        finished.set_value(*st);
    }));
    return caf::behavior{[](get_atom) {
    }};
  });
  auto fut = made.get_future();
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  auto post = fut.get();
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([post, t] {
      for (int i = 0; i < calls; ++i)
        post(t, i);
    });
  for (auto& t : senders)
    t.join();
  auto done = finished.get_future();
  REQUIRE(done.wait_for(60s) == std::future_status::ready);
  auto st = done.get();
  CHECK(st.total == threads * calls);
  CHECK(st.out_of_order == 0);
  for (int t = 0; t < threads; ++t)
    CHECK(st.next[t] == calls);
  CHECK(post.stats().delivered == uint64_t{threads * calls});
  CHECK(post.stats().dropped == 0);
  post.stop();
  caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  hdl = nullptr;
  CHECK(n.stop().clean());
  CHECK_FALSE(post(0, 0));
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "calls queued behind a handler that stops the bridge are "
                 "dropped and counted",
                 "[framework]") {
  bridge<int> add;
  auto ran = std::make_shared<std::vector<int>>();
  auto hdl = spawn([&add, ran](caf::event_based_actor* self) -> caf::behavior {
    add = make_bridge(self, [&add, ran](int x) {
      ran->push_back(x);
      if (x == 2)
        add.stop();
    });
    return {[](get_atom) {
    }};
  });
  run();
  for (int i = 1; i <= 5; ++i)
    CHECK(add(i)); // one burst: all wait in the bridge's queue
  run();
  CHECK(*ran == std::vector<int>{1, 2});
  CHECK(add.stats().delivered == 2);
  CHECK(add.stats().dropped == 3);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "calls queued behind a handler that ends the actor are "
                 "dropped and counted",
                 "[framework]") {
  bridge<int> add;
  auto ran = std::make_shared<std::vector<int>>();
  auto hdl = spawn([&add, ran](caf::event_based_actor* self) -> caf::behavior {
    add = make_bridge(self, [self, ran](int x) {
      ran->push_back(x);
      if (x == 1)
        self->quit();
    });
    return {[](get_atom) {
    }};
  });
  run();
  for (int i = 1; i <= 4; ++i)
    CHECK(add(i));
  run();
  CHECK(*ran == std::vector<int>{1});
  CHECK(add.stats().delivered == 1);
  CHECK(add.stats().dropped == 3);
  add(5); // the actor is gone
  run();
  CHECK(add.stats().delivered == 1);
  CHECK(add.stats().dropped == 4);
}
