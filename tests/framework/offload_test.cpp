#include "coactor/offload.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/gateway.hpp"
#include "coactor/respond.hpp"
#include "coactor/start.hpp"
#include "coactor/task.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace std::chrono_literals;

namespace {

using start_atom = caf::atom_constant<caf::atom("start")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using run_atom = caf::atom_constant<caf::atom("run")>;

node_options real_options(std::size_t offload_threads,
                          std::size_t offload_queue = 10'000) {
  auto opts = testing::deterministic_options();
  opts.policy = node_options{}.policy; // the default, real scheduler
  opts.threads = 2;
  opts.offload_threads = offload_threads;
  opts.offload_queue = offload_queue;
  return opts;
}

template <class T>
T get_within(std::future<T>& fut, std::chrono::seconds limit = 30s) {
  REQUIRE(fut.wait_for(limit) == std::future_status::ready);
  return fut.get();
}

// Runs one offloaded job per `run` request and replies with its outcome.
caf::behavior runner(caf::event_based_actor* self) {
  return {[self](run_atom, int x) {
    auto rp = self->make_response_promise<std::string>();
    async_offload(
        self,
        [x] {
          if (x < 0)
            throw std::runtime_error("negative input");
          return x * 2;
        },
        [rp](caf::expected<int> res) mutable {
          rp.deliver(res ? std::to_string(*res)
                         : "error: " + describe(res.error()));
        });
    return rp;
  }};
}

// The awaitable form: a coroutine handler awaits the pool.
task<std::string> doubled(caf::event_based_actor* self, int x) {
  auto job = [x] {
    if (x < 0)
      throw std::runtime_error("negative input");
    return x * 2;
  };
  auto res = co_await offload(self, job);
  co_return res ? std::to_string(*res) : "error: " + describe(res.error());
}

caf::behavior co_runner(caf::event_based_actor* self) {
  return {[self](run_atom, int x) {
    return respond(self, doubled(self, x));
  }};
}

struct blocker_state {
  int total = 0;
  int done = 0;
  int pings = 0;
  std::vector<caf::response_promise> waiting;
  static inline const char* name = "blocker";
};

using blocker_ptr = caf::stateful_actor<blocker_state>*;

void job_done(blocker_ptr self, const caf::expected<void>& res) {
  if (res)
    ++self->state.done;
  if (self->state.done == self->state.total)
    for (auto& rp : self->state.waiting)
      rp.deliver(self->state.done);
}

task<void> blocked_task(blocker_ptr self, std::shared_future<void> gate) {
  // Name the function object: g++ 12 may destroy a lambda temporary with
  // captures that sits inside a co_await expression twice.
  auto job = [gate] {
    gate.wait();
  };
  auto res = co_await offload(self, std::move(job));
  job_done(self, res);
}

// Starts `n` jobs blocked on `gate` (callback or awaitable form), answers
// pings meanwhile.
caf::behavior blocker(blocker_ptr self, std::shared_future<void> gate,
                      bool awaitable) {
  return {
      [self, gate, awaitable](start_atom, int n) {
        self->state.total = n;
        for (int i = 0; i < n; ++i) {
          if (awaitable) {
            start(self, blocked_task(self, gate));
            continue;
          }
          async_offload(
              self,
              [gate] {
                gate.wait(); // blocks a pool thread, never a CAF thread
              },
              [self](caf::expected<void> res) { job_done(self, res); });
        }
      },
      [self](ping_atom) { return ++self->state.pings; },
      [self](wait_atom) -> caf::result<int> {
        if (self->state.done == self->state.total)
          return self->state.done;
        self->state.waiting.push_back(self->make_response_promise());
        return self->state.waiting.back();
      },
  };
}

} // namespace

TEST_CASE("an offloaded job's result arrives in the actor", "[framework]") {
  auto n = testing::make_node(real_options(2));
  auto awaitable = GENERATE(false, true);
  auto hdl = awaitable ? n.spawn(co_runner) : n.spawn(runner);
  auto fut = ask_future<std::string>(n, hdl, 30s, run_atom::value, 21);
  auto res = get_within(fut);
  REQUIRE(res);
  CHECK(*res == "42");
  hdl = nullptr;
  CHECK(n.stop().clean());
}

TEST_CASE("an exception in an offloaded job becomes unhandled_exception",
          "[framework]") {
  auto n = testing::make_node(real_options(2));
  auto awaitable = GENERATE(false, true);
  auto hdl = awaitable ? n.spawn(co_runner) : n.spawn(runner);
  auto fut = ask_future<std::string>(n, hdl, 30s, run_atom::value, -1);
  auto res = get_within(fut);
  REQUIRE(res);
  CHECK(res->find("unhandled_exception") != std::string::npos);
  CHECK(res->find("negative input") != std::string::npos);
  hdl = nullptr;
  n.stop();
}

TEST_CASE("an actor answers requests while 100 blocking jobs run",
          "[framework]") {
  constexpr std::size_t pool = 8;
  auto n = testing::make_node(real_options(pool));
  auto awaitable = GENERATE(false, true);
  std::promise<void> release;
  auto hdl = n.spawn(blocker, release.get_future().share(), awaitable);
  caf::anon_send(hdl, start_atom::value, 100);
  // Every pool thread is blocked; the actor still answers at once.
  for (int i = 1; i <= 20; ++i) {
    auto fut = ask_future<int>(n, hdl, 30s, ping_atom::value);
    auto res = get_within(fut);
    REQUIRE(res);
    CHECK(*res == i);
  }
  auto stats = detail::pool_stats_of(n.system());
  CHECK(stats.threads <= pool);
  CHECK(stats.finished == 0);
  CHECK(stats.running + stats.queued <= 100);
  auto all = ask_future<int>(n, hdl, 60s, wait_atom::value);
  CHECK(all.wait_for(0s) == std::future_status::timeout);
  release.set_value();
  auto done = get_within(all, 60s);
  REQUIRE(done);
  CHECK(*done == 100);
  // A job counts as finished only after its result went out.
  auto after = detail::pool_stats_of(n.system());
  CHECK(after.finished + after.running == 100);
  CHECK(after.queued == 0);
  hdl = nullptr;
  CHECK(n.stop().clean());
}

TEST_CASE("a full offload queue fails fast with resource_exhausted",
          "[framework]") {
  // One pool thread, a queue of one: once the thread is busy with the first
  // job, a second waits in the queue and a third is refused.
  auto n = testing::make_node(real_options(1, 1));
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> running;
  auto first_runs = running.get_future();
  std::promise<caf::error> third;
  auto hdl = n.spawn([gate, &running, &third](caf::event_based_actor* self) {
    auto block = [gate] {
      gate.wait();
    };
    async_offload(
        self,
        [gate, &running] {
          running.set_value();
          gate.wait();
        },
        [](caf::expected<void>) {});
    return caf::behavior{[self, block, &third](ping_atom) {
      async_offload(self, block, [](caf::expected<void>) {}); // queued
      async_offload(self, block, [&third](caf::expected<void> res) {
        third.set_value(res ? caf::error{} : res.error());
      });
    }};
  });
  REQUIRE(first_runs.wait_for(30s) == std::future_status::ready);
  caf::anon_send(hdl, ping_atom::value);
  auto fut = third.get_future();
  auto err = get_within(fut);
  CHECK(is(err, errc::resource_exhausted));
  release.set_value();
  hdl = nullptr;
  n.stop();
}

TEST_CASE("offload options come from code, arguments and files",
          "[framework]") {
  SECTION("validation") {
    node_options opts;
    opts.offload_threads = 0;
    CHECK(is(opts.validate(), errc::invalid_argument));
    opts.offload_threads = 2;
    opts.offload_queue = 0;
    CHECK(is(opts.validate(), errc::invalid_argument));
    opts.offload_queue = 1;
    CHECK_FALSE(opts.validate());
  }
  SECTION("command line") {
    std::array<const char*, 3> args{"--offload-threads=16", "--offload-queue",
                                    "50"};
    auto opts = node_options::from_args(args);
    REQUIRE(opts);
    CHECK(opts->offload_threads == 16);
    CHECK(opts->offload_queue == 50);
    std::array<const char*, 1> bad{"--offload-threads=many"};
    CHECK(is(node_options::from_args(bad).error(), errc::invalid_argument));
  }
  SECTION("config file") {
    auto path = std::string{"offload_test_config.toml"};
    {
      std::FILE* f = std::fopen(path.c_str(), "w");
      REQUIRE(f != nullptr);
      std::fputs("[node]\noffload-threads = 3\noffload-queue = 7\n", f);
      std::fclose(f);
    }
    auto opts = node_options::from_file(path);
    std::remove(path.c_str());
    REQUIRE(opts);
    CHECK(opts->offload_threads == 3);
    CHECK(opts->offload_queue == 7);
  }
}

TEST_CASE("a node without offload work starts no pool thread", "[framework]") {
  auto n = testing::make_node(real_options(4));
  CHECK(detail::pool_stats_of(n.system()).threads == 0);
  n.stop();
}

namespace {

struct counted_capture {
  static inline std::atomic<int> alive{0};
  counted_capture() { ++alive; }
  counted_capture(const counted_capture&) { ++alive; }
  counted_capture(counted_capture&&) noexcept { ++alive; }
  ~counted_capture() { --alive; }
};

} // namespace

TEST_CASE("a result for an actor that exited is dropped, never run",
          "[framework]") {
  auto n = testing::make_node(real_options(1));
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  auto ran = std::make_shared<std::atomic<bool>>(false);
  auto hdl = n.spawn([gate, ran, &started](caf::event_based_actor* self) {
    counted_capture token;
    async_offload(
        self,
        [gate, &started] {
          started.set_value();
          gate.wait();
          return 1;
        },
        [ran, token](caf::expected<int>) { *ran = true; });
    return caf::behavior{[](ping_atom) {
    }};
  });
  auto job_started = started.get_future();
  REQUIRE(job_started.wait_for(30s) == std::future_status::ready);
  caf::anon_send_exit(hdl, caf::exit_reason::kill);
  hdl = nullptr;
  release.set_value(); // the job finishes after its actor is gone
  n.stop();
  CHECK_FALSE(*ran);
  CHECK(counted_capture::alive == 0);
}

namespace {

using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

task<std::string> await_blocked(caf::event_based_actor* self,
                                std::shared_future<void> gate,
                                caf::timespan timeout) {
  auto job = [gate] {
    gate.wait();
    return 1;
  };
  auto res = co_await offload(self, timeout, job);
  co_return res ? std::string{"value"} : describe(res.error());
}

struct canceller_state {
  task_handle handle;
  static inline const char* name = "canceller";
};

caf::behavior canceller(caf::stateful_actor<canceller_state>* self,
                        std::shared_future<void> gate) {
  return {
      [self, gate](start_atom) {
        auto rp = self->make_response_promise<std::string>();
        self->state.handle
            = start(self, await_blocked(self, gate, caf::timespan::max()),
                    [rp](caf::expected<std::string> x) mutable {
                      rp.deliver(x ? *x : describe(x.error()));
                    });
        return rp;
      },
      [self](cancel_atom) { self->state.handle.cancel(); },
      [self, gate](wait_atom) {
        return respond(self, await_blocked(self, gate, 50ms));
      },
  };
}

} // namespace

TEST_CASE("an awaited offload can time out or be cancelled", "[framework]") {
  auto n = testing::make_node(real_options(2));
  std::promise<void> release;
  auto hdl = n.spawn(canceller, release.get_future().share());
  SECTION("timeout") {
    auto fut = ask_future<std::string>(n, hdl, 30s, wait_atom::value);
    auto res = get_within(fut);
    REQUIRE(res);
    CHECK(res->find("timeout") != std::string::npos);
  }
  SECTION("cancellation") {
    auto fut = ask_future<std::string>(n, hdl, 30s, start_atom::value);
    CHECK(fut.wait_for(0s) == std::future_status::timeout);
    // Through the gateway as well, so that it arrives after `start`.
    auto cancelled = ask_future<void>(n, hdl, 30s, cancel_atom::value);
    CHECK(get_within(cancelled));
    auto res = get_within(fut);
    REQUIRE(res);
    CHECK(res->find("cancelled") != std::string::npos);
  }
  release.set_value(); // the jobs end; their results are ignored
  hdl = nullptr;
  CHECK(n.stop().clean());
}
