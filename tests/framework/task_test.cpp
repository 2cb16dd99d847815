// Tests of coactor::task, start, respond, ask and sleep on the deterministic
// scheduler.
#include "coactor/task.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/ask.hpp"
#include "coactor/respond.hpp"
#include "coactor/sleep.hpp"
#include "coactor/start.hpp"
#include "support/deterministic.hpp"
#include "support/frame_counter.hpp"

using namespace std::chrono_literals;
using coactor::errc;
using coactor::task;
using coactor::testing::deterministic_fixture;
using coactor::testing::frame_counter;

namespace {

using self_ptr = caf::event_based_actor*;
using go_atom = caf::atom_constant<caf::atom("go")>;

// Where a test task leaves its outcome.
template <class T>
struct box {
  std::optional<caf::expected<T>> value;
  int calls = 0;
};

template <class T>
auto store_in(std::shared_ptr<box<T>> b) {
  return [b](caf::expected<T> x) {
    b->value = std::move(x);
    ++b->calls;
  };
}

caf::behavior adder() {
  return {[](int x, int y) {
    return x + y;
  }};
}

// Receives requests and never answers them (keeps the promises).
caf::behavior black_hole(caf::event_based_actor* self) {
  auto kept = std::make_shared<std::vector<caf::response_promise>>();
  return {[self, kept](int) {
    kept->push_back(self->make_response_promise());
    return caf::response_promise{kept->back()};
  }};
}

task<int> add_twice(self_ptr self, caf::actor a) {
  frame_counter fc;
  auto x = co_await coactor::ask<int>(self, a, 1s, 1, 2);
  if (!x)
    co_return x.error();
  auto y = co_await coactor::ask<int>(self, a, 1s, *x, 10);
  co_return y;
}

// Starts `t` in a fresh actor and stores the outcome in `out`.
template <class T>
caf::behavior runner(self_ptr self, task<T> (*fn)(self_ptr, caf::actor),
                     caf::actor arg, std::shared_ptr<box<T>> out) {
  coactor::start(self, fn(self, arg), store_in(out));
  return {[](go_atom) {
  }};
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a task awaits replies to requests in its actor",
                 "[framework]") {
  frame_counter::reset();
  auto a = spawn(adder);
  auto out = std::make_shared<box<int>>();
  auto r = spawn(runner<int>, add_twice, a, out);
  run();
  REQUIRE(out->value);
  REQUIRE(*out->value);
  CHECK(**out->value == 13);
  CHECK(frame_counter::created() == 1);
  CHECK(frame_counter::live() == 0);
}

namespace {

task<int> slow_ask(self_ptr self, caf::actor hole) {
  frame_counter fc;
  auto x = co_await coactor::ask<int>(self, hole, 5s, 1);
  co_return x;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "an ask without reply times out in virtual time",
                 "[framework]") {
  frame_counter::reset();
  auto hole = spawn(black_hole);
  auto out = std::make_shared<box<int>>();
  auto r = spawn(runner<int>, slow_ask, hole, out);
  run();
  CHECK_FALSE(out->value);
  advance(4s);
  CHECK_FALSE(out->value);
  advance(1s);
  REQUIRE(out->value);
  CHECK(coactor::is(out->value->error(), errc::timeout));
  CHECK(frame_counter::live() == 0);
}
