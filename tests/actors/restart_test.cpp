// Stages that restart their function after a failure (restart_on_failure):
// nothing lost, nothing twice, the failure surfaced at once, no restart loop.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/run_deterministic.hpp"
#include "coactor/actors/pipeline.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "support/deterministic.hpp"
#include "support/log_capture.hpp"

using namespace coactor;
using namespace coactor::actors;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

/// Throws the first time it sees each item in `failing` (a transient
/// failure: the same item succeeds when tried again). Called from one stage
/// actor only.
struct fails_once {
  std::shared_ptr<std::set<int64_t>> failing;

  void operator()(int64_t x) const {
    if (failing->erase(x) > 0)
      throw std::runtime_error("transient failure at " + std::to_string(x));
  }
};

std::shared_ptr<std::set<int64_t>> every_1000th(int64_t n) {
  auto xs = std::make_shared<std::set<int64_t>>();
  for (int64_t x = 999; x < n; x += 1000)
    xs->insert(x);
  return xs;
}

node_options captured(std::shared_ptr<testing::log_capture> sink) {
  node_options opts;
  opts.name = "restarts";
  opts.threads = 2;
  opts.log_level = log::level::warn;
  opts.log_sink = std::move(sink);
  return opts;
}

} // namespace

TEST_CASE("a map failing on every 1,000th item restarts and loses nothing",
          "[actors][restart]") {
  constexpr int64_t n = 100'000;
  auto log = std::make_shared<testing::log_capture>();
  auto nd = node::create(captured(log));
  REQUIRE(nd);
  auto failing = every_1000th(n);
  std::vector<int64_t> got;
  auto r = pipeline(*nd)
               .from(iota<int64_t>(0, n))
               .via(map([fail = fails_once{failing}](int64_t x) {
                      fail(x);
                      return x;
                    }).restart_on_failure(1000, 60s))
               .to(for_each([&got](int64_t x) { got.push_back(x); }))
               .run();
  REQUIRE(r);
  std::vector<int64_t> want(n);
  std::iota(want.begin(), want.end(), int64_t{0});
  CHECK(got == want); // everything, once, in order
  CHECK(failing->empty());
  REQUIRE(r->stage("map") != nullptr);
  CHECK(r->stage("map")->restarts == 100);
  CHECK(r->restarts == 100);
  CHECK(r->to_string().find("restarted 100 times") != std::string::npos);
  CHECK(log->contains({"warn", "stage 'map'", "transient failure at 999",
                       "restarting it (1 of 1000 within 60 s)"}));
}

TEST_CASE("a restart is visible in the running pipeline's snapshot at once",
          "[actors][restart]") {
  auto log = std::make_shared<testing::log_capture>();
  auto nd = node::create(captured(log));
  REQUIRE(nd);
  std::atomic<int64_t> failed_at{0};
  std::promise<void> seen;
  auto release = seen.get_future().share();
  auto failing = std::make_shared<std::set<int64_t>>(std::set<int64_t>{5});
  auto done = std::make_shared<std::promise<caf::expected<pipeline_summary>>>();
  auto result = done->get_future();
  auto started
      = pipeline(*nd)
            .from(iota<int64_t>(0, 100))
            .via(map([fail = fails_once{failing}, &failed_at](int64_t x) {
                   if (x == 5 && !fail.failing->empty())
                     failed_at = clock_type::now().time_since_epoch().count();
                   fail(x);
                   return x;
                 }).restart_on_failure(3))
            // Holds the stream until the test saw the restart: the
            // pipeline cannot end before it is observed.
            .to(for_each([release](int64_t) { release.wait(); }))
            .start([done](caf::expected<pipeline_summary> r) {
              done->set_value(std::move(r));
            });
  REQUIRE(started);
  auto deadline = clock_type::now() + 10s;
  uint64_t restarts = 0;
  while (restarts == 0 && clock_type::now() < deadline) {
    auto snap = started->snapshot();
    if (auto* m = snap.stage("map"))
      restarts = m->restarts;
    if (restarts == 0)
      std::this_thread::yield();
  }
  auto observed = clock_type::now().time_since_epoch().count();
  seen.set_value();
  REQUIRE(restarts == 1);
  REQUIRE(failed_at.load() > 0);
  CHECK(std::chrono::nanoseconds{observed - failed_at.load()} < 2s);
  REQUIRE(result.wait_for(30s) == std::future_status::ready);
  auto r = result.get();
  REQUIRE(r);
  CHECK(r->consumed == 100);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a restarted consumer continues with the item that failed",
                 "[actors][restart]") {
  auto failing = std::make_shared<std::set<int64_t>>(std::set<int64_t>{42, 77});
  std::vector<int64_t> got;
  auto p = pipeline(node())
               .from(iota<int64_t>(0, 100))
               .to(for_each([fail = fails_once{failing}, &got](int64_t x) {
                     fail(x);
                     got.push_back(x);
                   }).restart_on_failure(5));
  auto r = testing::run_deterministic(*this, p);
  REQUIRE(r);
  std::vector<int64_t> want(100);
  std::iota(want.begin(), want.end(), int64_t{0});
  CHECK(got == want); // nothing consumed twice
  CHECK(r->stage("consumer")->restarts == 2);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a restarted batch consumer gets the failed batch whole",
                 "[actors][restart]") {
  auto failed = std::make_shared<bool>(false);
  std::vector<std::string> got;
  auto p = pipeline(node())
               .from(iota<int64_t>(0, 10))
               .via(map([](int64_t x) { return std::to_string(x); }))
               .to(for_each_batch([failed, &got](std::vector<std::string>& xs) {
                     auto taken = std::move(xs); // moves from its batch ...
                     if (!*failed) {
                       *failed = true;
                       throw std::runtime_error("once");
                     }
                     got.insert(got.end(), taken.begin(), taken.end());
                   }).restart_on_failure(1));
  auto r = testing::run_deterministic(*this, p);
  REQUIRE(r);
  REQUIRE(got.size() == 10); // ... and the retry still had every item
  CHECK(got.front() == "0");
  CHECK(got.back() == "9");
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a restarted map gets its batch whole though it moved from it",
                 "[actors][restart]") {
  auto failed = std::make_shared<bool>(false);
  std::vector<std::string> got;
  auto p
      = pipeline(node())
            .from(iota(0, 10))
            .via(map([](int x) { return std::to_string(x); }))
            .via(map([failed](std::string& s) {
                   auto taken = std::move(s);
                   if (taken == "6" && !*failed) {
                     *failed = true;
                     throw std::runtime_error("once");
                   }
                   return taken;
                 })
                     .named("mover")
                     .restart_on_failure(1))
            .to(for_each([&got](const std::string& s) { got.push_back(s); }));
  auto r = testing::run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(got
        == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8",
                                    "9"});
  CHECK(r->stage("mover")->restarts == 1);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a restart starts the function's state over",
                 "[actors][restart]") {
  auto failed = std::make_shared<bool>(false);
  std::vector<int> got;
  auto p = pipeline(node())
               .from(iota(0, 5))
               .via(map([failed, seen = 0](int x) mutable {
                      ++seen;
                      if (x == 2 && !*failed) {
                        *failed = true;
                        throw std::runtime_error("once");
                      }
                      return seen;
                    }).restart_on_failure(1))
               .to(for_each([&got](int x) { got.push_back(x); }));
  auto r = testing::run_deterministic(*this, p);
  REQUIRE(r);
  // The retried batch ran on a fresh copy: its count starts at 1 again, and
  // the outputs of the failed attempt were discarded.
  CHECK(got == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "an item that always fails ends in restart_limit, no loop",
                 "[actors][restart]") {
  auto calls = std::make_shared<int>(0);
  auto p = pipeline(node())
               .from(iota(0, 10))
               .via(map([calls](int x) {
                      if (x == 7) {
                        ++*calls;
                        throw std::runtime_error("poison");
                      }
                      return x;
                    }).restart_on_failure(3, 1s))
               .to(counter());
  auto r = testing::run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::restart_limit));
  auto what = context_of(r.error());
  CHECK(what.find("stage 'map'") != std::string::npos);
  CHECK(what.find("more than 3 times within 1 s") != std::string::npos);
  CHECK(what.find("poison") != std::string::npos);
  CHECK(*calls == 4); // the first try and three restarts
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "without restart_on_failure the first failure fails the stage",
                 "[actors][restart]") {
  auto failing = std::make_shared<std::set<int64_t>>(std::set<int64_t>{3});
  auto p = pipeline(node())
               .from(iota<int64_t>(0, 10))
               .via(map([fail = fails_once{failing}](int64_t x) {
                 fail(x);
                 return x;
               }))
               .to(counter());
  auto r = testing::run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stage_failed));
  CHECK(context_of(r.error()).find("transient failure at 3")
        != std::string::npos);
}
