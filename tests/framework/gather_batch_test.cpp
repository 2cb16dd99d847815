// Tests of gather/when_all and when_any over a vector of asks to distinct
// targets, which goes out under one request id with one response handler for
// the batch.
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/ask.hpp"
#include "coactor/respond.hpp"
#include "coactor/sleep.hpp"
#include "coactor/start.hpp"
#include "coactor/when_all.hpp"
#include "coactor/when_any.hpp"
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
using asks_t = std::vector<coactor::ask_awaitable<int, int>>;

// What the targets saw: the request ids they were sent.
struct seen {
  std::multiset<uint64_t> ids;
};

// Answers `x + base` after `x` seconds of virtual time (at once for 0).
task<int> answer(self_ptr self, int x, int base) {
  frame_counter fc;
  if (x > 0)
    co_await coactor::sleep(self, std::chrono::seconds{x});
  co_return x + base;
}

caf::behavior target(self_ptr self, int base, std::shared_ptr<seen> s) {
  return {
      [self, base, s](int x) {
        s->ids.insert(self->current_message_id().integer_value());
        return coactor::respond(self, answer(self, x, base));
      },
  };
}

caf::behavior liar() {
  return {[](int) {
    return std::string{"not an int"};
  }};
}

struct outcome {
  bool done = false;
  caf::error error;
  std::vector<caf::expected<int>> rs;
};

// Gathers ask<int>(targets[i], timeout, args[i]) with an overall timeout.
task<void> gather_all(self_ptr self, std::vector<caf::actor> targets,
                      std::vector<int> args, caf::timespan each,
                      caf::timespan overall, std::shared_ptr<outcome> out) {
  frame_counter fc;
  asks_t asks;
  for (size_t i = 0; i < targets.size(); ++i)
    asks.push_back(coactor::ask<int>(self, targets[i], each, args[i]));
  out->rs = co_await coactor::gather(std::move(asks), overall);
}

caf::behavior runner(self_ptr self, std::vector<caf::actor> targets,
                     std::vector<int> args, caf::timespan each,
                     caf::timespan overall, std::shared_ptr<outcome> out) {
  auto h = coactor::start(
      self,
      gather_all(self, std::move(targets), std::move(args), each, overall, out),
      [out](caf::expected<void> r) {
        out->done = true;
        if (!r)
          out->error = r.error();
      });
  return {[h](go_atom) mutable {
    h.cancel();
  }};
}

struct any_outcome {
  bool done = false;
  std::size_t index = coactor::any_result<int>::npos;
  caf::expected<int> value{caf::error{}};
};

// Races ask<int>(targets[i], each, args[i]) with an overall timeout.
task<void> race_all(self_ptr self, std::vector<caf::actor> targets,
                    std::vector<int> args, caf::timespan each,
                    caf::timespan overall, std::shared_ptr<any_outcome> out) {
  frame_counter fc;
  asks_t asks;
  for (size_t i = 0; i < targets.size(); ++i)
    asks.push_back(coactor::ask<int>(self, targets[i], each, args[i]));
  auto r = co_await coactor::when_any(std::move(asks), overall);
  out->index = r.index;
  out->value = std::move(r.value);
  out->done = true;
}

caf::behavior racer(self_ptr self, std::vector<caf::actor> targets,
                    std::vector<int> args, caf::timespan each,
                    caf::timespan overall, std::shared_ptr<any_outcome> out) {
  coactor::start(self, race_all(self, std::move(targets), std::move(args), each,
                                overall, out));
  return {[](int) {
  }};
}

struct fixture : deterministic_fixture {
  std::shared_ptr<seen> s = std::make_shared<seen>();
  std::shared_ptr<outcome> out = std::make_shared<outcome>();
  std::vector<caf::actor> targets;

  fixture() { frame_counter::reset(); }

  void spawn_targets(int n) {
    for (int i = 0; i < n; ++i)
      targets.push_back(spawn(target, 100 * (i + 1), s));
  }

  std::shared_ptr<any_outcome> any = std::make_shared<any_outcome>();

  caf::actor run_race(std::vector<caf::actor> ts, std::vector<int> args,
                      caf::timespan each = 10s,
                      caf::timespan overall = caf::timespan::max()) {
    auto r = spawn(racer, std::move(ts), std::move(args), each, overall, any);
    run();
    return r;
  }

  caf::actor run_gather(std::vector<caf::actor> ts, std::vector<int> args,
                        caf::timespan each = 10s,
                        caf::timespan overall = caf::timespan::max()) {
    auto r = spawn(runner, std::move(ts), std::move(args), each, overall, out);
    run();
    return r;
  }
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "gather over distinct targets sends one request id and "
                 "fills every slot from its own target",
                 "[framework]") {
  spawn_targets(4);
  auto r = run_gather(targets, {3, 0, 1, 2});
  for (int i = 0; i < 3; ++i)
    advance(1s);
  REQUIRE(out->done);
  REQUIRE(out->rs.size() == 4);
  CHECK((out->rs[0] && *out->rs[0] == 103));
  CHECK((out->rs[1] && *out->rs[1] == 200));
  CHECK((out->rs[2] && *out->rs[2] == 301));
  CHECK((out->rs[3] && *out->rs[3] == 402));
  REQUIRE(s->ids.size() == 4);
  CHECK(std::set<uint64_t>(s->ids.begin(), s->ids.end()).size() == 1);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "gather with duplicate targets in one batch keeps every slot "
                 "apart",
                 "[framework]") {
  spawn_targets(3);
  auto& t = targets;
  // target 0 answers 2 s after target 2's second request: out of order.
  auto r = run_gather({t[0], t[1], t[0], t[2], t[1], t[0]}, {3, 1, 0, 2, 0, 1});
  for (int i = 0; i < 3; ++i)
    advance(1s);
  REQUIRE(out->done);
  std::vector<int> want{103, 201, 100, 302, 200, 101};
  REQUIRE(out->rs.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i)
    CHECK((out->rs[i] && *out->rs[i] == want[i]));
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "gather with a dead target among live ones reports "
                 "target_down in its slot only",
                 "[framework]") {
  spawn_targets(5);
  for (int i : {1, 3}) {
    self->send_exit(targets[i], caf::exit_reason::kill);
    run();
  }
  auto r = run_gather(targets, {1, 0, 0, 2, 0});
  advance(1s);
  advance(1s);
  REQUIRE(out->done);
  REQUIRE(out->rs.size() == 5);
  CHECK((out->rs[0] && *out->rs[0] == 101));
  CHECK(coactor::is(out->rs[1].error(), errc::target_down));
  CHECK((out->rs[2] && *out->rs[2] == 300));
  CHECK(coactor::is(out->rs[3].error(), errc::target_down));
  CHECK((out->rs[4] && *out->rs[4] == 500));
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "gather with a dead target and an unexpected reply type "
                 "reports each in its own slot",
                 "[framework]") {
  spawn_targets(3);
  self->send_exit(targets[2], caf::exit_reason::kill);
  run();
  targets.push_back(spawn(liar));
  auto r = run_gather(targets, {0, 0, 0, 0});
  REQUIRE(out->done);
  CHECK((out->rs[0] && *out->rs[0] == 100));
  CHECK((out->rs[1] && *out->rs[1] == 200));
  CHECK(coactor::is(out->rs[2].error(), errc::target_down));
  CHECK(coactor::is(out->rs[3].error(), errc::unexpected_reply));
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "gather with a per-ask timeout gives the missing slots "
                 "timeout and ignores their late replies",
                 "[framework]") {
  spawn_targets(4);
  auto r = run_gather(targets, {1, 5, 2, 4}, 3s);
  for (int i = 0; i < 3; ++i)
    advance(1s);
  REQUIRE(out->done);
  CHECK((out->rs[0] && *out->rs[0] == 101));
  CHECK(coactor::is(out->rs[1].error(), errc::timeout));
  CHECK((out->rs[2] && *out->rs[2] == 302));
  CHECK(coactor::is(out->rs[3].error(), errc::timeout));
  advance(5s); // late replies: the handler is gone
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "gather with an overall timeout gives the missing slots "
                 "timeout",
                 "[framework]") {
  spawn_targets(3);
  auto r = run_gather(targets, {1, 5, 0}, 10s, 3s);
  for (int i = 0; i < 3; ++i)
    advance(1s);
  REQUIRE(out->done);
  CHECK((out->rs[0] && *out->rs[0] == 101));
  CHECK(coactor::is(out->rs[1].error(), errc::timeout));
  CHECK((out->rs[2] && *out->rs[2] == 300));
  advance(5s);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "cancelling a task mid-gather cancels the pending slots and "
                 "ignores late replies",
                 "[framework]") {
  spawn_targets(3);
  auto r = run_gather(targets, {1, 3, 4});
  advance(1s); // slot 0 answered
  REQUIRE_FALSE(out->done);
  self->send(r, go_atom::value);
  run();
  REQUIRE(out->done);
  CHECK((out->rs[0] && *out->rs[0] == 101));
  CHECK(coactor::is(out->rs[1].error(), errc::cancelled));
  CHECK(coactor::is(out->rs[2].error(), errc::cancelled));
  for (int i = 0; i < 4; ++i)
    advance(1s); // late replies dropped
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "an actor exiting mid-gather destroys the suspended frames",
                 "[framework]") {
  spawn_targets(3);
  auto r = run_gather(targets, {1, 3, 4});
  advance(1s);
  REQUIRE(frame_counter::live() > 0);
  self->send_exit(r, caf::exit_reason::kill);
  run();
  for (int i = 0; i < 4; ++i)
    advance(1s);
  CHECK_FALSE(out->done);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture, "gather over 10,000 targets", "[framework]") {
  constexpr int n = 10'000;
  spawn_targets(n);
  auto r = run_gather(targets, std::vector<int>(n, 0));
  REQUIRE(out->done);
  REQUIRE(out->rs.size() == size_t{n});
  for (int i = 0; i < n; ++i)
    CHECK((out->rs[i] && *out->rs[i] == 100 * (i + 1)));
  CHECK(std::set<uint64_t>(s->ids.begin(), s->ids.end()).size() == 1);
  CHECK(frame_counter::live() == 0);
}

// -- when_any -----------------------------------------------------------------

TEST_CASE_METHOD(fixture,
                 "when_any over distinct targets sends one request id and "
                 "yields the first reply",
                 "[framework]") {
  spawn_targets(4);
  auto r = run_race(targets, {3, 2, 1, 2});
  CHECK_FALSE(any->done);
  advance(1s);
  REQUIRE(any->done);
  CHECK(any->index == 2);
  CHECK((any->value && *any->value == 301));
  REQUIRE(s->ids.size() == 4);
  CHECK(std::set<uint64_t>(s->ids.begin(), s->ids.end()).size() == 1);
  for (int i = 0; i < 3; ++i)
    advance(1s); // the losers' late replies are dropped
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "when_any under one request id lets a dead target's bounce "
                 "win as target_down",
                 "[framework]") {
  spawn_targets(3);
  self->send_exit(targets[1], caf::exit_reason::kill);
  run();
  auto r = run_race(targets, {2, 0, 1});
  REQUIRE(any->done);
  CHECK(any->index == 1);
  CHECK(coactor::is(any->value.error(), errc::target_down));
  for (int i = 0; i < 3; ++i)
    advance(1s);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "when_any under one request id yields the ask timeout of the "
                 "first item when no target answers in time",
                 "[framework]") {
  spawn_targets(3);
  auto r = run_race(targets, {5, 5, 5}, 2s);
  advance(1s);
  CHECK_FALSE(any->done);
  advance(1s);
  REQUIRE(any->done);
  CHECK(any->index == 0);
  CHECK(coactor::is(any->value.error(), errc::timeout));
  for (int i = 0; i < 4; ++i)
    advance(1s);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture,
                 "when_any under one request id with an overall timeout "
                 "yields npos and cancels every ask",
                 "[framework]") {
  spawn_targets(3);
  auto r = run_race(targets, {5, 5, 5}, 10s, 2s);
  advance(1s);
  CHECK_FALSE(any->done);
  advance(1s);
  REQUIRE(any->done);
  CHECK(any->index == coactor::any_result<int>::npos);
  CHECK(coactor::is(any->value.error(), errc::timeout));
  for (int i = 0; i < 4; ++i)
    advance(1s);
  CHECK(frame_counter::live() == 0);
}
