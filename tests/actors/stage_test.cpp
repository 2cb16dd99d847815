#include "coactor/actors/stage.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/error.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace coactor::actors;
using namespace std::chrono_literals;

namespace {

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
                 "map, filter and flat_map transform every item in order",
                 "[actors]") {
  std::vector<std::string> got;
  auto p
      = pipeline(node())
            .from(iota(0, 10))
            .via(filter([](int x) { return x % 2 == 0; }))
            .via(map([](int x) { return std::to_string(x); }))
            .via(flat_map([](const std::string& s) {
              return std::vector<std::string>{s, s};
            }))
            .to(for_each([&got](const std::string& s) { got.push_back(s); }));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(got
        == std::vector<std::string>{"0", "0", "2", "2", "4", "4", "6", "6", "8",
                                    "8"});
  REQUIRE(r->stage("filter") != nullptr);
  CHECK(r->stage("filter")->in == 10);
  CHECK(r->stage("filter")->out == 5);
  CHECK(r->stage("flat_map")->out == 10);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a map returning an error stops the pipeline", "[actors]") {
  auto p = pipeline(node())
               .from(iota(0, 10))
               .via(map([](int x) -> caf::expected<int> {
                 if (x == 3)
                   return make_error(errc::invalid_argument, "three");
                 return x;
               }))
               .to(counter());
  auto r = run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(context_of(r.error()).find("'map'") != std::string::npos);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "batch groups items and emits the partial tail at the end",
                 "[actors]") {
  std::vector<std::vector<int>> got;
  auto p
      = pipeline(node())
            .from(iota(0, 10))
            .via(batch(3))
            .to(for_each([&got](std::vector<int>& xs) { got.push_back(xs); }));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(got
        == std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}});
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "batch flushes a partial group after max_delay", "[actors]") {
  std::vector<std::vector<int>> got;
  // One item per 10 ms from the timer; groups of 100 never fill, so only
  // max_delay (25 ms) emits them.
  auto p
      = pipeline(node())
            .from(every(10ms,
                        [](uint64_t tick) -> std::optional<int> {
                          if (tick >= 6)
                            return std::nullopt;
                          return static_cast<int>(tick);
                        }))
            .via(batch(100, 25ms))
            .to(for_each([&got](std::vector<int>& xs) { got.push_back(xs); }));
  std::optional<caf::expected<pipeline_summary>> result;
  auto started = p.start(
      [&](caf::expected<pipeline_summary> r) { result = std::move(r); });
  REQUIRE(started);
  run();
  for (int i = 0; i < 10 && !result; ++i)
    advance(10ms);
  REQUIRE(result);
  REQUIRE(*result);
  size_t total = 0;
  for (auto& g : got)
    total += g.size();
  CHECK(total == 6);
  CHECK(got.size() >= 2); // max_delay split the stream before its end
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "broadcast delivers every item to every copy", "[actors]") {
  std::map<int, std::vector<int>> got; // copy -> items
  auto p = pipeline(node())
               .from(iota(0, 500))
               .to(for_each([&got, id = -1](int x) mutable {
                     static int next_id = 100;
                     if (id < 0)
                       id = next_id++;
                     got[id].push_back(x);
                   }),
                   parallel(3, route::broadcast));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(r->consumed == 1500);
  REQUIRE(got.size() == 3);
  std::vector<int> expected(500);
  for (int i = 0; i < 500; ++i)
    expected[static_cast<size_t>(i)] = i;
  for (auto& [id, xs] : got)
    CHECK(xs == expected);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "key partitioning sends equal keys to the same copy in order",
                 "[actors]") {
  std::map<int, std::set<int>> copies_of_key;
  std::map<int, std::vector<int>> per_key;
  auto p = pipeline(node())
               .from(iota(0, 4000))
               .via(buffer({.capacity = 100}))
               .to(for_each(
                       [&, id = -1](int x) mutable {
                         static int next_id = 200;
                         if (id < 0)
                           id = next_id++;
                         copies_of_key[x % 10].insert(id);
                         per_key[x % 10].push_back(x);
                       },
                       16),
                   partition_by(4, [](int x) { return x % 10; }));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(r->consumed == 4000);
  REQUIRE(copies_of_key.size() == 10);
  for (auto& [key, ids] : copies_of_key)
    CHECK(ids.size() == 1);
  for (auto& [key, xs] : per_key)
    CHECK(std::is_sorted(xs.begin(), xs.end()));
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "parallel stages fan out and merge back into one consumer",
                 "[actors]") {
  uint64_t sum = 0;
  uint64_t count = 0;
  auto p = pipeline(node())
               .from(iota(1, 1001))
               .via(map([](int x) { return static_cast<uint64_t>(x) * 2; }),
                    parallel(3))
               .to(for_each([&](uint64_t x) {
                 sum += x;
                 ++count;
               }));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(count == 1000);
  CHECK(sum == 1000 * 1001);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a timer source overfilling a drop_newest buffer counts drops",
                 "[actors]") {
  uint64_t seen = 0;
  // Timer: one item per ms for 50 ms; consumer grants 1 item at a time and
  // the buffer holds 5 — but the deterministic scheduler delivers everything
  // between ticks, so nothing is dropped unless the consumer lags.
  auto p = pipeline(node())
               .from(every(1ms,
                           [](uint64_t tick) -> std::optional<int> {
                             if (tick >= 50)
                               return std::nullopt;
                             return static_cast<int>(tick);
                           }))
               .via(buffer(
                   {.capacity = 5, .policy = overflow_policy::drop_newest}))
               .to(for_each([&seen](int) { ++seen; }, 1));
  std::optional<caf::expected<pipeline_summary>> result;
  auto started = p.start(
      [&](caf::expected<pipeline_summary> r) { result = std::move(r); });
  REQUIRE(started);
  run();
  for (int i = 0; i < 60 && !result; ++i)
    advance(1ms);
  REQUIRE(result);
  REQUIRE(*result);
  CHECK(seen + (*result)->dropped == 50);
  CHECK((*result)->stage("buffer")->high_water <= 5);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "file lines flow through to a file consumer", "[actors]") {
  auto in_path = std::string{"coactor_stage_test_in.txt"};
  auto out_path = std::string{"coactor_stage_test_out.txt"};
  {
    std::ofstream f{in_path};
    f << "alpha\nbeta\ngamma\n";
  }
  auto p = pipeline(node())
               .from(from_lines(in_path))
               .via(map([](const std::string& s) { return s + "!"; }))
               .to(to_file(out_path));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  std::ifstream f{out_path};
  std::string content((std::istreambuf_iterator<char>(f)),
                      std::istreambuf_iterator<char>());
  CHECK(content == "alpha!\nbeta!\ngamma!\n");
  std::remove(in_path.c_str());
  std::remove(out_path.c_str());
}
