// Tests of coactor::from_callback: the first done wins, from any thread;
// timeouts in virtual time; late calls are harmless.
#include "coactor/from_callback.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/start.hpp"
#include "support/deterministic.hpp"
#include "support/frame_counter.hpp"

using namespace std::chrono_literals;
using coactor::done_callback;
using coactor::errc;
using coactor::task;
using coactor::testing::deterministic_fixture;
using coactor::testing::frame_counter;

namespace {

using self_ptr = caf::event_based_actor*;
using go_atom = caf::atom_constant<caf::atom("go")>;

// What the legacy API saw and what the task got.
struct legacy {
  std::mutex mtx;
  std::optional<done_callback<int>> kept; // a copy kept by the "legacy API"
  std::optional<caf::expected<int>> result;
  std::vector<std::thread> threads;
  std::promise<caf::expected<int>> finished;
  std::promise<void> got_callback;
};

enum class mode { twice, never, fail, keep, racing };

task<int> call_legacy(self_ptr self, mode m, std::shared_ptr<legacy> lg) {
  frame_counter fc;
  // A named callable: g++ 12 destroys a lambda written inside the co_await
  // expression twice (see docs/coroutines.md).
  auto start = [m, lg](done_callback<int> done) {
    switch (m) {
      case mode::twice:
        done(1);
        done(2); // ignored
        break;
      case mode::never: break;
      case mode::fail:
        done(coactor::make_error(errc::connection_failed, "legacy"));
        break;
      case mode::keep: {
        std::lock_guard<std::mutex> guard{lg->mtx};
        lg->kept = done;
        lg->got_callback.set_value();
        break;
      }
      case mode::racing:
        for (int i = 0; i < 8; ++i)
          lg->threads.emplace_back([done, i] {
            for (int j = 0; j < 1000; ++j)
              done(i * 1000 + j);
          });
        break;
    }
  };
  auto r = co_await coactor::from_callback<int>(self, 5s, start);
  co_return r;
}

caf::behavior runner(self_ptr self, mode m, std::shared_ptr<legacy> lg) {
  auto hdl = coactor::start(self, call_legacy(self, m, lg),
                            [lg](caf::expected<int> r) {
                              lg->result = r;
                              lg->finished.set_value(r);
                            });
  return {[hdl](go_atom) mutable {
    hdl.cancel();
  }};
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "from_callback yields the first done and ignores the second",
                 "[framework]") {
  frame_counter::reset();
  auto lg = std::make_shared<legacy>();
  auto r = spawn(runner, mode::twice, lg);
  run();
  REQUIRE(lg->result);
  REQUIRE(*lg->result);
  CHECK(**lg->result == 1);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "from_callback yields the error passed to done",
                 "[framework]") {
  auto lg = std::make_shared<legacy>();
  auto r = spawn(runner, mode::fail, lg);
  run();
  REQUIRE(lg->result);
  CHECK(coactor::is(lg->result->error(), errc::connection_failed));
}

TEST_CASE_METHOD(deterministic_fixture,
                 "from_callback times out in virtual time without a done",
                 "[framework]") {
  frame_counter::reset();
  auto lg = std::make_shared<legacy>();
  auto r = spawn(runner, mode::never, lg);
  run();
  advance(4s);
  CHECK_FALSE(lg->result);
  advance(1s);
  REQUIRE(lg->result);
  CHECK(coactor::is(lg->result->error(), errc::timeout));
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(deterministic_fixture, "a done after cancellation is harmless",
                 "[framework]") {
  frame_counter::reset();
  auto lg = std::make_shared<legacy>();
  auto r = spawn(runner, mode::keep, lg);
  run();
  self->send(r, go_atom::value);
  run();
  REQUIRE(lg->result);
  CHECK(coactor::is(lg->result->error(), errc::cancelled));
  (*lg->kept)(5);
  run();
  CHECK(coactor::is(lg->result->error(), errc::cancelled));
  CHECK(frame_counter::live() == 0);
}

TEST_CASE("8 threads racing to call done: exactly one value counts",
          "[framework]") {
  frame_counter::reset();
  auto n = coactor::testing::make_node(coactor::node_options{});
  auto lg = std::make_shared<legacy>();
  auto fut = lg->finished.get_future();
  n.spawn(runner, mode::racing, lg);
  REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  auto r = fut.get();
  REQUIRE(r);
  CHECK(*r >= 0);
  CHECK(*r < 8000);
  CHECK(*r % 1000 == 0); // the first call of some thread
  for (auto& t : lg->threads)
    t.join();
  CHECK(frame_counter::live() == 0);
  n.stop();
}

TEST_CASE("a done after the actor exited is harmless", "[framework]") {
  frame_counter::reset();
  auto n = coactor::testing::make_node(coactor::node_options{});
  auto lg = std::make_shared<legacy>();
  auto got = lg->got_callback.get_future();
  auto hdl = n.spawn(runner, mode::keep, lg);
  REQUIRE(got.wait_for(30s) == std::future_status::ready);
  std::optional<done_callback<int>> done;
  {
    std::lock_guard<std::mutex> guard{lg->mtx};
    done = lg->kept;
  }
  REQUIRE(done);
  caf::anon_send_exit(hdl, caf::exit_reason::kill);
  {
    caf::scoped_actor waiter{n.system()};
    waiter->wait_for(hdl);
  }
  CHECK(frame_counter::live() == 0);
  (*done)(1); // the actor is gone: dropped
  CHECK_FALSE(lg->result);
  hdl = nullptr;
  n.stop();
  (*done)(2); // the node is gone too
  CHECK_FALSE(lg->result);
}
