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

// -- laziness, values, exceptions ---------------------------------------------

namespace {

task<int> just(int x) {
  frame_counter fc;
  co_return x;
}

task<std::unique_ptr<int>> boxed(int x) {
  frame_counter fc;
  co_return std::make_unique<int>(x);
}

task<int> thrower(self_ptr) {
  frame_counter fc;
  throw std::runtime_error("boom in thrower");
  co_return 0; // never reached
}

task<void> void_fail(bool fail) {
  frame_counter fc;
  if (fail)
    co_await coactor::fail(coactor::make_error(errc::invalid_argument, "x"));
  co_return;
}

task<int> mixed(self_ptr self, caf::actor) {
  frame_counter fc;
  auto a = co_await just(1);
  auto b = co_await boxed(2);
  auto c = co_await thrower(self);
  auto d = co_await void_fail(false);
  auto e = co_await void_fail(true);
  if (!a || !b || c || !d || e)
    co_return coactor::make_error(errc::invalid_argument, "unexpected");
  CHECK(coactor::is(c.error(), errc::unhandled_exception));
  CHECK(coactor::context_of(c.error()) == "boom in thrower");
  CHECK(coactor::is(e.error(), errc::invalid_argument));
  co_return *a + **b;
}

} // namespace

TEST_CASE("a task does not start until it is awaited", "[framework]") {
  frame_counter::reset();
  {
    auto t = just(1);
    CHECK(t.valid());
    CHECK_FALSE(t.done());
    CHECK(frame_counter::created() == 0);
  }
  CHECK(frame_counter::created() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "awaiting tasks yields values, move-only values and errors",
                 "[framework]") {
  frame_counter::reset();
  auto out = std::make_shared<box<int>>();
  auto r = spawn(runner<int>, mixed, caf::actor{}, out);
  run();
  REQUIRE(out->value);
  REQUIRE(*out->value);
  CHECK(**out->value == 3);
  CHECK(frame_counter::created() == 6);
  CHECK(frame_counter::live() == 0);
}

// -- deep nesting -------------------------------------------------------------

namespace {

task<int> nested(self_ptr self, int depth) {
  if (depth == 0) {
    // Suspend at the bottom, so that the whole chain resumes from a message.
    auto ok = co_await coactor::sleep(self, 0s);
    co_return ok ? 0 : -1;
  }
  auto r = co_await nested(self, depth - 1);
  co_return r ? *r + 1 : -1;
}

task<int> deep(self_ptr self, caf::actor) {
  frame_counter fc;
  auto r = co_await nested(self, 10000);
  co_return r;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "10,000 nested awaits complete without growing the stack",
                 "[framework]") {
  frame_counter::reset();
  auto out = std::make_shared<box<int>>();
  auto r = spawn(runner<int>, deep, caf::actor{}, out);
  run();
  REQUIRE(out->value);
  REQUIRE(*out->value);
  CHECK(**out->value == 10000);
  CHECK(frame_counter::live() == 0);
}

// -- sleep --------------------------------------------------------------------

namespace {

task<int> sleeper(self_ptr self, caf::actor) {
  frame_counter fc;
  auto ok = co_await coactor::sleep(self, 3s);
  if (!ok)
    co_return ok.error();
  co_return 42;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture, "sleep ends in virtual time",
                 "[framework]") {
  frame_counter::reset();
  auto out = std::make_shared<box<int>>();
  auto r = spawn(runner<int>, sleeper, caf::actor{}, out);
  run();
  advance(2s);
  CHECK_FALSE(out->value);
  CHECK(frame_counter::live() == 1);
  advance(1s);
  REQUIRE(out->value);
  CHECK(**out->value == 42);
  CHECK(frame_counter::live() == 0);
}

// -- coroutine handlers -------------------------------------------------------

namespace {

task<int> double_via(self_ptr self, caf::actor a, int x) {
  frame_counter fc;
  co_await coactor::sleep(self, 1s);
  auto r = co_await coactor::ask<int>(self, a, 5s, x, x);
  co_return r;
}

caf::behavior co_server(self_ptr self, caf::actor a) {
  return {
      [self, a](int x) {
        return coactor::respond(self, double_via(self, a, x));
      },
      [self](std::string) { return coactor::respond(self, thrower(self)); },
  };
}

struct counter_state {
  int served = 0;
  static inline const char* name = "counter";
};

task<int> stateful_step(caf::stateful_actor<counter_state>* self, int x) {
  frame_counter fc;
  co_await coactor::sleep(self, 1s);
  // Actor state may have changed across the co_await: read it afterwards.
  co_return x + ++self->state.served;
}

caf::behavior stateful_server(caf::stateful_actor<counter_state>* self) {
  return {coactor::handler(self, stateful_step)};
}

using typed_doubler = caf::typed_actor<caf::replies_to<int>::with<int>>;

task<int> typed_step(typed_doubler::pointer self, int x) {
  frame_counter fc;
  co_await coactor::sleep(self, 1s);
  co_return 2 * x;
}

typed_doubler::behavior_type typed_server(typed_doubler::pointer self) {
  return {[self](int x) {
    return coactor::respond(self, typed_step(self, x));
  }};
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a coroutine handler answers with its result or its error",
                 "[framework]") {
  frame_counter::reset();
  auto a = spawn(adder);
  auto srv = spawn(co_server, a);
  auto h1 = self->request(srv, caf::infinite, 21);
  auto h2 = self->request(srv, caf::infinite, std::string{"throw"});
  run();
  advance(1s);
  int got = 0;
  h1.receive([&](int x) { got = x; }, [&](caf::error&) { got = -1; });
  CHECK(got == 42);
  caf::error err;
  h2.receive([&](int) {}, [&](caf::error& e) { err = e; });
  CHECK(coactor::is(err, errc::unhandled_exception));
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "coroutine handlers work in stateful and typed actors",
                 "[framework]") {
  frame_counter::reset();
  auto st = spawn(stateful_server);
  auto ty = spawn(typed_server);
  auto h1 = self->request(st, caf::infinite, 10);
  auto h2 = self->request(st, caf::infinite, 20);
  auto h3 = self->request(ty, caf::infinite, 4);
  run();
  CHECK(frame_counter::live() == 3);
  advance(1s);
  std::vector<int> got;
  auto keep = [&](int x) {
    got.push_back(x);
  };
  auto fail = [&](caf::error&) {
    got.push_back(-1);
  };
  h1.receive(keep, fail);
  h2.receive(keep, fail);
  h3.receive(keep, fail);
  CHECK(got == std::vector<int>{11, 22, 8});
  CHECK(frame_counter::live() == 0);
}

// -- actor exit, late replies -------------------------------------------------

TEST_CASE_METHOD(deterministic_fixture,
                 "killing an actor mid-await destroys its frames and answers "
                 "its pending requests with target_down",
                 "[framework]") {
  frame_counter::reset();
  auto a = spawn(adder);
  auto srv = spawn(co_server, a);
  auto h = self->request(srv, caf::infinite, 21);
  run();
  CHECK(frame_counter::live() == 1);
  caf::anon_send_exit(srv, caf::exit_reason::kill);
  run();
  CHECK(frame_counter::live() == 0);
  caf::error err;
  h.receive([&](int) {}, [&](caf::error& e) { err = e; });
  CHECK(coactor::is(err, errc::target_down));
  advance(10s); // the sleep's timeout fires into a dead actor: nothing happens
  CHECK(frame_counter::live() == 0);
}

namespace {

// Answers after `delay` (a coroutine handler itself).
task<int> late_answer(self_ptr self, int x) {
  co_await coactor::sleep(self, 10s);
  co_return x;
}

caf::behavior slow_server(self_ptr self) {
  return {[self](int x) {
    return coactor::respond(self, late_answer(self, x));
  }};
}

task<int> impatient(self_ptr self, caf::actor slow) {
  frame_counter fc;
  auto first = co_await coactor::ask<int>(self, slow, 1s, 1);
  CHECK(coactor::is(first.error(), errc::timeout));
  // A second ask must get its own reply, never the late first one.
  auto second = co_await coactor::ask<int>(self, slow, 20s, 2);
  co_return second;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a reply arriving after the timeout is ignored",
                 "[framework]") {
  frame_counter::reset();
  auto slow = spawn(slow_server);
  auto out = std::make_shared<box<int>>();
  auto r = spawn(runner<int>, impatient, slow, out);
  run();
  advance(1s); // first ask times out, second is sent
  CHECK_FALSE(out->value);
  advance(9s); // late reply to the first ask arrives: dropped
  CHECK_FALSE(out->value);
  advance(1s);
  REQUIRE(out->value);
  REQUIRE(*out->value);
  CHECK(**out->value == 2);
  CHECK(out->calls == 1);
  CHECK(frame_counter::live() == 0);
}

// -- cancellation -------------------------------------------------------------

namespace {

task<int> cancellable(self_ptr self, caf::actor hole) {
  frame_counter fc;
  auto x = co_await coactor::ask<int>(self, hole, 100s, 1);
  CHECK(coactor::is(x.error(), errc::cancelled));
  // Cancellation is sticky: later awaits complete at once.
  auto y = co_await coactor::sleep(self, 100s);
  CHECK(coactor::is(y.error(), errc::cancelled));
  co_return 7;
}

caf::behavior cancel_runner(self_ptr self, caf::actor hole,
                            std::shared_ptr<box<int>> out) {
  auto hdl = coactor::start(self, cancellable(self, hole), store_in(out));
  return {[hdl](go_atom) mutable {
    hdl.cancel();
  }};
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "cancelling a task resumes it with cancelled at its current "
                 "await",
                 "[framework]") {
  frame_counter::reset();
  auto hole = spawn(black_hole);
  auto out = std::make_shared<box<int>>();
  auto r = spawn(cancel_runner, hole, out);
  run();
  CHECK_FALSE(out->value);
  self->send(r, go_atom::value);
  run();
  REQUIRE(out->value);
  CHECK(**out->value == 7);
  CHECK(frame_counter::live() == 0);
}

// -- many suspended tasks -----------------------------------------------------

namespace {

task<void> nap(self_ptr self, std::shared_ptr<int> woke) {
  frame_counter fc;
  if (co_await coactor::sleep(self, 1s))
    ++*woke;
}

caf::behavior many(self_ptr self, int n, std::shared_ptr<int> woke) {
  for (int i = 0; i < n; ++i)
    coactor::start(self, nap(self, woke));
  return {[](go_atom) {
  }};
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "100,000 tasks suspend at once in one actor", "[framework]") {
  frame_counter::reset();
  auto woke = std::make_shared<int>(0);
  auto a = spawn(many, 100000, woke);
  run();
  CHECK(frame_counter::live() == 100000);
  advance(1s);
  CHECK(*woke == 100000);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "an actor exiting with 100,000 suspended tasks destroys them "
                 "all",
                 "[framework]") {
  frame_counter::reset();
  auto woke = std::make_shared<int>(0);
  auto a = spawn(many, 100000, woke);
  run();
  CHECK(frame_counter::live() == 100000);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
  CHECK(frame_counter::live() == 0);
  advance(1s);
  CHECK(*woke == 0);
}

// -- reply shapes and failures of ask -----------------------------------------

namespace {

caf::behavior shapes() {
  return {
      [](int x) { return std::make_tuple(x, std::to_string(x)); },
      [](const std::string&) {}, // answers with an empty message
      [](double) { return std::string{"not a double"}; },
  };
}

task<void> touch(self_ptr self) {
  co_await coactor::sleep(self, 1s);
}

caf::behavior void_server(self_ptr self) {
  return {[self](go_atom) {
    return coactor::respond(self, touch(self));
  }};
}

task<int> reply_shapes(self_ptr self, caf::actor srv) {
  frame_counter fc;
  auto pair
      = co_await coactor::ask<std::tuple<int, std::string>>(self, srv, 1s, 7);
  REQUIRE(pair);
  CHECK(std::get<0>(*pair) == 7);
  CHECK(std::get<1>(*pair) == "7");
  auto nothing = co_await coactor::ask<void>(self, srv, 1s, std::string{"x"});
  CHECK(nothing);
  auto wrong = co_await coactor::ask<double>(self, srv, 1s, 1.5);
  CHECK(coactor::is(wrong.error(), errc::unexpected_reply));
  auto none = co_await coactor::ask<int>(self, caf::actor{}, 1s, 1);
  CHECK(coactor::is(none.error(), errc::target_down));
  auto vs = self->spawn(void_server);
  auto done = co_await coactor::ask<void>(self, vs, 5s, go_atom::value);
  CHECK(done);
  auto dead = self->spawn(adder);
  caf::anon_send_exit(dead, caf::exit_reason::kill);
  co_await coactor::sleep(self, 0s); // let the kill land
  auto gone = co_await coactor::ask<int>(self, dead, 1s, 1, 2);
  CHECK(coactor::is(gone.error(), errc::target_down));
  co_return 1;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "ask yields tuples, void replies and clear errors",
                 "[framework]") {
  frame_counter::reset();
  auto srv = spawn(shapes);
  auto out = std::make_shared<box<int>>();
  auto r = spawn(runner<int>, reply_shapes, srv, out);
  run();
  advance(1s);
  REQUIRE(out->value);
  CHECK(*out->value);
  CHECK(frame_counter::live() == 0);
}

// -- quitting from inside a task ----------------------------------------------

namespace {

task<int> quitter(caf::stateful_actor<counter_state>* self, int) {
  frame_counter fc;
  self->quit();
  // The actor is shutting down: the await completes at once.
  auto r = co_await coactor::sleep(self, 1s);
  CHECK(coactor::is(r.error(), errc::cancelled));
  co_return self->state.served;
}

caf::behavior quitting_server(caf::stateful_actor<counter_state>* self) {
  return {coactor::handler(self, quitter)};
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "an await after quit completes at once with cancelled",
                 "[framework]") {
  frame_counter::reset();
  auto srv = spawn(quitting_server);
  auto h = self->request(srv, caf::infinite, 1);
  run();
  CHECK(frame_counter::live() == 0);
  int got = -1;
  h.receive([&](int x) { got = x; }, [&](caf::error&) { got = -2; });
  CHECK(got == 0);
}
