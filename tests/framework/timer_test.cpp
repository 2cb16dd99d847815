#include "coactor/timer.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <catch2/catch.hpp>

#include "support/deterministic.hpp"

using namespace coactor;
using namespace std::chrono_literals;

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;

struct ticks_state {
  std::vector<int> log;
  timer periodic;
  static inline const char* name = "ticker";
};

using ticker_ptr = caf::stateful_actor<ticks_state>*;

} // namespace

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a one-shot timer fires once after its delay in virtual time",
                 "[framework]") {
  auto fired = std::make_shared<int>(0);
  timer t;
  auto hdl = spawn([&t, fired](caf::event_based_actor* self) -> caf::behavior {
    t = call_later(self, 5s, [fired] { ++*fired; });
    return {[](get_atom) {
    }};
  });
  run();
  CHECK(t.active());
  advance(4s);
  CHECK(*fired == 0);
  advance(1s);
  CHECK(*fired == 1);
  CHECK_FALSE(t.active());
  CHECK(t.fired() == 1);
  advance(10s);
  CHECK(*fired == 1);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "call_at fires at a point on the actor clock", "[framework]") {
  auto fired = std::make_shared<int>(0);
  auto hdl = spawn([fired](caf::event_based_actor* self) -> caf::behavior {
    call_at(self, self->clock().now() + 3s, [fired] { ++*fired; });
    call_at(self, self->clock().now() - 1s, [fired] { *fired += 10; });
    return {[](get_atom) {
    }};
  });
  run();
  advance(0s);
  CHECK(*fired == 10); // the past fires at once
  advance(3s);
  CHECK(*fired == 11);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a periodic timer ticks every period until cancelled",
                 "[framework]") {
  auto hdl = spawn([](ticker_ptr self) -> caf::behavior {
    self->state.periodic = call_every(self, 1s, [self] {
      self->state.log.push_back(static_cast<int>(self->state.log.size()));
    });
    return {[self](get_atom) {
      return self->state.log;
    }};
  });
  run();
  for (int i = 0; i < 3; ++i)
    advance(1s);
  self->send(hdl, get_atom::value);
  run();
  CHECK(receive_now<std::vector<int>>() == std::vector<int>{0, 1, 2});
  // Cancel from outside (any thread may).
  auto st = caf::actor_cast<caf::actor>(hdl);
  timer handle;
  {
    // Read the handle through a request: state belongs to the actor.
    auto* ptr = dynamic_cast<caf::stateful_actor<ticks_state>*>(
        caf::actor_cast<caf::abstract_actor*>(hdl));
    REQUIRE(ptr != nullptr);
    handle = ptr->state.periodic;
  }
  CHECK(handle.fired() == 3);
  handle.cancel();
  CHECK_FALSE(handle.active());
  advance(5s);
  self->send(hdl, get_atom::value);
  run();
  CHECK(receive_now<std::vector<int>>()->size() == 3);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a periodic timer can cancel itself from its own function",
                 "[framework]") {
  auto count = std::make_shared<int>(0);
  auto hdl = spawn([count](ticker_ptr self) -> caf::behavior {
    self->state.periodic = call_every(self, 10ms, [self, count] {
      if (++*count == 4)
        self->state.periodic.cancel();
    });
    return {[](get_atom) {
    }};
  });
  run();
  for (int i = 0; i < 10; ++i)
    advance(10ms);
  CHECK(*count == 4);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a cancelled one-shot timer never fires", "[framework]") {
  auto fired = std::make_shared<int>(0);
  timer t;
  auto hdl = spawn([&t, fired](caf::event_based_actor* self) -> caf::behavior {
    t = call_later(self, 1s, [fired] { ++*fired; });
    return {[](get_atom) {
    }};
  });
  run();
  t.cancel();
  t.cancel();
  run();
  advance(2s);
  CHECK(*fired == 0);
  CHECK(t.fired() == 0);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a timer whose actor exited neither fires nor crashes",
                 "[framework]") {
  auto fired = std::make_shared<int>(0);
  timer t;
  auto hdl = spawn([&t, fired](caf::event_based_actor* self) -> caf::behavior {
    t = call_every(self, 1s, [fired] { ++*fired; });
    return {[](get_atom) {
    }};
  });
  run();
  advance(1s);
  CHECK(*fired == 1);
  caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  run();
  advance(3s);
  CHECK(*fired == 1);
  t.cancel(); // harmless
  hdl = nullptr;
  run();
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a throwing timer function is logged and the timer goes on",
                 "[framework]") {
  auto count = std::make_shared<int>(0);
  auto hdl = spawn([count](caf::event_based_actor* self) -> caf::behavior {
    call_every(self, 1s, [count] {
      if (++*count == 1)
        throw std::runtime_error("first tick fails");
    });
    return {[](get_atom) {
    }};
  });
  run();
  advance(1s);
  advance(1s);
  CHECK(*count == 2);
}
