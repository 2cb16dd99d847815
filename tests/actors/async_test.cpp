#include "coactor/actors/async.hpp"

#include <optional>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/sleep.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace coactor::actors;
using namespace std::chrono_literals;

namespace {

task<void> count_to(emitter<int> out, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = co_await out.emit(i);
    if (!r)
      co_return;
  }
}

task<void> failing_source(emitter<int> out) {
  co_await out.emit(1);
  co_await fail(make_error(errc::invalid_argument, "sensor offline"));
}

task<void> sleepy_handler(caf::scheduled_actor* self,
                          std::shared_ptr<std::vector<int>> got, int x) {
  co_await sleep(self, 1ms);
  got->push_back(x);
}

struct run_result {
  std::optional<caf::expected<pipeline_summary>> value;
};

task<void> run_from_actor(caf::event_based_actor* self, runnable_pipeline p,
                          std::shared_ptr<run_result> out) {
  auto r = co_await async_run(self, std::move(p));
  out->value = std::move(r);
}

// Spawned with arguments: CAF 0.17.6's argument-less spawn trips UBSan.
caf::behavior runner_actor(caf::event_based_actor* self, runnable_pipeline p,
                           std::shared_ptr<run_result> out) {
  start(self, run_from_actor(self, std::move(p), std::move(out)));
  return {[](int) {
  }};
}

caf::expected<pipeline_summary>
run_deterministic(testing::deterministic_fixture& fx,
                  const runnable_pipeline& p) {
  std::optional<caf::expected<pipeline_summary>> result;
  auto started = p.start(
      [&](caf::expected<pipeline_summary> r) { result = std::move(r); });
  if (!started)
    return started.error();
  fx.run();
  if (!result)
    return make_error(errc::timeout, "pipeline did not complete");
  return std::move(*result);
}

} // namespace

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a producer task's emits wait for credit and arrive in order",
                 "[actors]") {
  std::vector<int> got;
  auto p = pipeline(node())
               .from(from_task<int>(
                   [](emitter<int> out) { return count_to(out, 5000); }))
               .via(buffer({.capacity = 16}))
               .to(for_each([&got](int x) { got.push_back(x); }, 8));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  REQUIRE(got.size() == 5000);
  for (int i = 0; i < 5000; ++i)
    REQUIRE(got[static_cast<size_t>(i)] == i);
  CHECK(r->stage("buffer")->high_water <= 16);
  CHECK(r->produced == 5000);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a producer task that fails names its stage", "[actors]") {
  auto p = pipeline(node())
               .from(from_task<int>(failing_source).named("sensor"))
               .to(counter());
  auto r = run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(context_of(r.error()).find("'sensor'") != std::string::npos);
  CHECK(context_of(r.error()).find("sensor offline") != std::string::npos);
  CHECK(node().owned_alive() == 0);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a consumer handler may co_await, one item after the other",
                 "[actors]") {
  auto got = std::make_shared<std::vector<int>>();
  auto p
      = pipeline(node())
            .from(iota(0, 5))
            .to(for_each_async<int>([got](caf::scheduled_actor* self, int x) {
              return sleepy_handler(self, got, x);
            }));
  std::optional<caf::expected<pipeline_summary>> result;
  auto started = p.start(
      [&](caf::expected<pipeline_summary> r) { result = std::move(r); });
  REQUIRE(started);
  run();
  CHECK(got->empty()); // the first handler sleeps
  advance(1ms);
  CHECK(*got == std::vector<int>{0});
  for (int i = 0; i < 4; ++i)
    advance(1ms);
  REQUIRE(result);
  REQUIRE(*result);
  CHECK(*got == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "an actor co_awaits a pipeline run", "[actors]") {
  auto out = std::make_shared<run_result>();
  auto p = pipeline(node()).from(iota(0, 1000)).to(counter());
  auto runner = spawn(runner_actor, p, out);
  run();
  REQUIRE(out->value);
  REQUIRE(*out->value);
  CHECK((*out->value)->consumed == 1000);
  caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
  run();
}
