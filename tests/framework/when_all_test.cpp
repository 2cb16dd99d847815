// Tests of coactor::when_all / gather and coactor::when_any on the
// deterministic scheduler.
#include "coactor/when_all.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/ask.hpp"
#include "coactor/respond.hpp"
#include "coactor/sleep.hpp"
#include "coactor/start.hpp"
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

struct outcome {
  bool done = false;
  std::vector<std::string> log;
};

// Answers `x` after `x` seconds of virtual time; fails for negative `x`.
task<int> delayed(self_ptr self, int x) {
  frame_counter fc;
  if (x < 0)
    co_return coactor::make_error(errc::invalid_argument, "negative");
  co_await coactor::sleep(self, std::chrono::seconds{x});
  co_return x;
}

caf::behavior delay_server(self_ptr self) {
  return {[self](int x) {
    return coactor::respond(self, delayed(self, x));
  }};
}

task<std::string> name_of(self_ptr self, int x) {
  frame_counter fc;
  co_await coactor::sleep(self, std::chrono::seconds{x});
  co_return std::to_string(x);
}

template <class F>
caf::behavior runner(self_ptr self, F fn, caf::actor srv,
                     std::shared_ptr<outcome> out) {
  coactor::start(self, fn(self, srv, out),
                 [out](caf::expected<void>) { out->done = true; });
  return {[](go_atom) {
  }};
}

task<void> variadic(self_ptr self, caf::actor srv,
                    std::shared_ptr<outcome> out) {
  frame_counter fc;
  auto t0 = self->clock().now();
  auto [a, b, c, d] = co_await coactor::when_all(
      coactor::ask<int>(self, srv, 10s, 3), name_of(self, 2), delayed(self, -1),
      coactor::sleep(self, 1s));
  CHECK(self->clock().now() - t0 == caf::timespan{3s}); // not 3+2+1
  CHECK((a && *a == 3));
  CHECK((b && *b == "2"));
  CHECK(coactor::is(c.error(), errc::invalid_argument)); // partial failure
  CHECK(d);
  out->log.push_back("variadic");
}

task<void> vector_of_asks(self_ptr self, caf::actor srv,
                          std::shared_ptr<outcome> out) {
  frame_counter fc;
  std::vector<coactor::ask_awaitable<int, int>> asks;
  for (int i = 1; i <= 5; ++i)
    asks.push_back(coactor::ask<int>(self, srv, 10s, i));
  auto rs = co_await coactor::gather(std::move(asks));
  REQUIRE(rs.size() == 5);
  for (int i = 0; i < 5; ++i)
    CHECK((rs[i] && *rs[i] == i + 1));
  out->log.push_back("vector");
}

task<void> with_timeout(self_ptr self, caf::actor srv,
                        std::shared_ptr<outcome> out) {
  frame_counter fc;
  std::vector<task<int>> ts;
  ts.push_back(delayed(self, 1));
  ts.push_back(delayed(self, 5));
  ts.push_back(delayed(self, 2));
  auto rs = co_await coactor::when_all(std::move(ts), 3s);
  CHECK((rs[0] && *rs[0] == 1));
  CHECK(coactor::is(rs[1].error(), errc::timeout));
  CHECK((rs[2] && *rs[2] == 2));
  std::vector<coactor::ask_awaitable<int, int>> asks;
  asks.push_back(coactor::ask<int>(self, srv, 10s, 1));
  asks.push_back(coactor::ask<int>(self, srv, 10s, 5));
  asks.push_back(coactor::ask<int>(self, srv, 1s, 4)); // its own timeout
  asks.push_back(coactor::ask<int>(self, caf::actor{}, 10s, 1));
  auto qs = co_await coactor::when_all(std::move(asks), 3s);
  CHECK((qs[0] && *qs[0] == 1));
  CHECK(coactor::is(qs[1].error(), errc::timeout));
  CHECK(coactor::is(qs[2].error(), errc::timeout));
  CHECK(coactor::is(qs[3].error(), errc::target_down));
  auto [x, y] = co_await coactor::when_all(
      500ms, coactor::ask<int>(self, srv, 10s, 1), delayed(self, 0));
  CHECK(coactor::is(x.error(), errc::timeout));
  CHECK((y && *y == 0));
  out->log.push_back("timeout");
  (void)srv;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "when_all runs items concurrently with per-item results",
                 "[framework]") {
  frame_counter::reset();
  auto srv = spawn(delay_server);
  auto out = std::make_shared<outcome>();
  auto r = spawn(runner<decltype(&variadic)>, variadic, srv, out);
  run();
  for (int i = 0; i < 3; ++i)
    advance(1s);
  CHECK(out->done);
  CHECK(out->log == std::vector<std::string>{"variadic"});
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(deterministic_fixture, "gather over a vector of asks",
                 "[framework]") {
  frame_counter::reset();
  auto srv = spawn(delay_server);
  auto out = std::make_shared<outcome>();
  auto r = spawn(runner<decltype(&vector_of_asks)>, vector_of_asks, srv, out);
  run();
  for (int i = 0; i < 5; ++i)
    advance(1s);
  CHECK(out->done);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "when_all with an overall timeout cancels the unfinished "
                 "items",
                 "[framework]") {
  frame_counter::reset();
  auto srv = spawn(delay_server);
  auto out = std::make_shared<outcome>();
  auto r = spawn(runner<decltype(&with_timeout)>, with_timeout, srv, out);
  run();
  for (int i = 0; i < 7; ++i)
    advance(1s);
  CHECK(out->done);
  CHECK(out->log == std::vector<std::string>{"timeout"});
  advance(10s); // late replies land in a finished join: ignored
  CHECK(frame_counter::live() == 0);
}

// -- when_any -----------------------------------------------------------------

namespace {

struct loser_log {
  int cancelled = 0;
};

task<int> racer(self_ptr self, int secs, std::shared_ptr<loser_log> log) {
  frame_counter fc;
  auto ok = co_await coactor::sleep(self, std::chrono::seconds{secs});
  if (!ok) {
    if (coactor::is(ok.error(), errc::cancelled))
      ++log->cancelled;
    co_return ok.error();
  }
  co_return secs;
}

task<void> race(self_ptr self, caf::actor srv, std::shared_ptr<outcome> out) {
  frame_counter fc;
  auto log = std::make_shared<loser_log>();
  auto r = co_await coactor::when_any(racer(self, 3, log), racer(self, 1, log),
                                      racer(self, 2, log));
  CHECK(r.index == 1);
  CHECK((r.value && *r.value == 1));
  CHECK(log->cancelled == 2); // the losers saw cancelled before we resumed
  // asks as items: the late reply of the loser is dropped
  auto s = co_await coactor::when_any(coactor::ask<int>(self, srv, 10s, 4),
                                      coactor::ask<int>(self, srv, 10s, 2));
  CHECK(s.index == 1);
  CHECK((s.value && *s.value == 2));
  std::vector<coactor::ask_awaitable<int, int>> asks;
  asks.push_back(coactor::ask<int>(self, srv, 10s, 3));
  asks.push_back(coactor::ask<int>(self, srv, 10s, 1));
  asks.push_back(coactor::ask<int>(self, srv, 10s, 2));
  auto u = co_await coactor::when_any(std::move(asks));
  CHECK(u.index == 1);
  CHECK((u.value && *u.value == 1));
  std::vector<coactor::ask_awaitable<int, int>> slow;
  slow.push_back(coactor::ask<int>(self, srv, 10s, 9));
  auto v = co_await coactor::when_any(std::move(slow), 2s);
  CHECK(v.index == coactor::any_result<int>::npos);
  CHECK(coactor::is(v.value.error(), errc::timeout));
  std::vector<task<int>> ts;
  ts.push_back(racer(self, 5, log));
  auto t = co_await coactor::when_any(std::move(ts), 1s);
  CHECK(t.index == coactor::any_result<int>::npos);
  CHECK(coactor::is(t.value.error(), errc::timeout));
  out->log.push_back("race");
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "when_any returns the first result and cancels the losers",
                 "[framework]") {
  frame_counter::reset();
  auto srv = spawn(delay_server);
  auto out = std::make_shared<outcome>();
  auto r = spawn(runner<decltype(&race)>, race, srv, out);
  run();
  for (int i = 0; i < 10; ++i)
    advance(1s);
  CHECK(out->done);
  CHECK(out->log == std::vector<std::string>{"race"});
  advance(10s); // the servers' cancelled requests still finish their sleeps
  CHECK(frame_counter::live() == 0);
}

// -- cancellation of a parent reaches the children ----------------------------

namespace {

task<void> parent(self_ptr self, std::shared_ptr<loser_log> log) {
  frame_counter fc;
  auto [a, b]
      = co_await coactor::when_all(racer(self, 50, log), racer(self, 60, log));
  CHECK(coactor::is(a.error(), errc::cancelled));
  CHECK(coactor::is(b.error(), errc::cancelled));
}

caf::behavior parent_runner(self_ptr self, std::shared_ptr<loser_log> log,
                            std::shared_ptr<outcome> out) {
  auto hdl
      = coactor::start(self, parent(self, log), [out](caf::expected<void> r) {
          out->done = static_cast<bool>(r);
        });
  return {[hdl](go_atom) mutable {
    hdl.cancel();
  }};
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "cancelling a task cancels its when_all children",
                 "[framework]") {
  frame_counter::reset();
  auto log = std::make_shared<loser_log>();
  auto out = std::make_shared<outcome>();
  auto r = spawn(parent_runner, log, out);
  run();
  CHECK(frame_counter::live() == 3);
  self->send(r, go_atom::value);
  run();
  CHECK(log->cancelled == 2);
  CHECK(out->done);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "killing an actor inside when_all destroys every child frame",
                 "[framework]") {
  frame_counter::reset();
  auto log = std::make_shared<loser_log>();
  auto out = std::make_shared<outcome>();
  auto r = spawn(parent_runner, log, out);
  run();
  CHECK(frame_counter::live() == 3);
  caf::anon_send_exit(r, caf::exit_reason::kill);
  run();
  CHECK(frame_counter::live() == 0);
  CHECK_FALSE(out->done);
  advance(100s);
  CHECK(log->cancelled == 0);
}
