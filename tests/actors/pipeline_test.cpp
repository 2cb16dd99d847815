#include "coactor/actors/pipeline.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "actors/run_deterministic.hpp"
#include "coactor/error.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace coactor::actors;

namespace {

node_options threaded_options() {
  node_options opts;
  opts.name = "pipe";
  opts.threads = 2;
  opts.log_level = log::level::error;
  return opts;
}

// Items carrying their producer and sequence number.
struct tagged {
  int source;
  int seq;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tagged& x) {
  return f(caf::meta::type_name("tagged"), x.source, x.seq);
}

producer<tagged> tagged_source(int source, int n) {
  auto p = from_generator<tagged>([source, n]() {
    return [source, n, i = 0](std::vector<tagged>& out, size_t max) mutable {
      for (size_t k = 0; k < max && i < n; ++k)
        out.push_back({source, i++});
      return i < n;
    };
  });
  p.name = "source" + std::to_string(source);
  return p;
}

} // namespace

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "with backpressure every item arrives exactly once in order",
                 "[actors]") {
  auto got = std::make_shared<std::vector<int>>();
  auto p = pipeline(node())
               .from(iota(0, 10000))
               .via(buffer({.capacity = 100}))
               .to(for_each([got](int x) { got->push_back(x); }));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  REQUIRE(got->size() == 10000);
  for (int i = 0; i < 10000; ++i)
    REQUIRE((*got)[static_cast<size_t>(i)] == i);
  CHECK(r->produced == 10000);
  CHECK(r->consumed == 10000);
  CHECK(r->dropped == 0);
  auto* buf = r->stage("buffer");
  REQUIRE(buf != nullptr);
  CHECK(buf->high_water <= 100);
  CHECK(buf->in == 10000);
  CHECK(buf->out == 10000);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "merged producers keep their own order into one consumer",
                 "[actors]") {
  std::map<int, std::vector<int>> got;
  auto p
      = pipeline(node())
            .from(merge(tagged_source(0, 3000), tagged_source(1, 2000),
                        tagged_source(2, 1)))
            .via(buffer({.capacity = 64}))
            .to(for_each([&got](tagged t) { got[t.source].push_back(t.seq); }));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(r->consumed == 5001);
  std::map<int, int> sizes{{0, 3000}, {1, 2000}, {2, 1}};
  for (auto [src, n] : sizes) {
    REQUIRE(got[src].size() == static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
      REQUIRE(got[src][static_cast<size_t>(i)] == i);
  }
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "parallel consumers receive every item exactly once",
                 "[actors]") {
  std::multiset<int> got;
  std::set<int> copies_used;
  auto p = pipeline(node())
               .from(iota(0, 20000))
               .via(buffer({.capacity = 256}))
               .to(for_each(
                       [&got, &copies_used, id = -1](int x) mutable {
                         static int next_id = 0;
                         if (id < 0)
                           id = next_id++;
                         copies_used.insert(id);
                         got.insert(x);
                       },
                       64),
                   parallel(4));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(got.size() == 20000);
  CHECK(std::set<int>(got.begin(), got.end()).size() == 20000);
  CHECK(copies_used.size() == 4);
  auto* c = r->stage("consumer");
  REQUIRE(c != nullptr);
  CHECK(c->copies == 4);
}

TEST_CASE_METHOD(
    testing::deterministic_fixture,
    "a fast producer and a slow consumer never overfill the buffer",
    "[actors]") {
  uint64_t seen = 0;
  // The consumer takes 4 items per round trip, the producer offers 1024.
  auto p = pipeline(node())
               .from(iota(0, 5000))
               .via(buffer({.capacity = 64}))
               .to(for_each([&seen](int) { ++seen; }, 4));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(seen == 5000);
  auto* buf = r->stage("buffer");
  REQUIRE(buf != nullptr);
  CHECK(buf->high_water <= 64); // never beyond its capacity
  CHECK(buf->high_water >= 48); // though the consumer let it fill up
}

TEST_CASE("a slow consumer on real threads never overfills the buffer",
          "[actors]") {
  auto n = testing::make_node(threaded_options());
  std::atomic<uint64_t> seen{0};
  auto p = pipeline(n)
               .from(iota(0, 20000))
               .via(buffer({.capacity = 128}))
               .to(for_each([&seen](int x) {
                 volatile int sink = 0;
                 for (int i = 0; i < 200; ++i)
                   sink = sink + x;
                 seen.fetch_add(1);
               }));
  auto r = p.run();
  INFO((r ? std::string{} : describe(r.error())));
  REQUIRE(r);
  CHECK(seen == 20000);
  CHECK(r->stage("buffer")->high_water <= 128);
  CHECK(r->latency_p99 >= r->latency_p50);
  CHECK(n.stop().clean());
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "an empty stream completes with zero items", "[actors]") {
  auto p = pipeline(node())
               .from(iota(0, 0))
               .via(buffer({.capacity = 4}))
               .via(map([](int x) { return x * 2; }))
               .to(counter());
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(r->produced == 0);
  CHECK(r->consumed == 0);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a one-item stream delivers its item", "[actors]") {
  std::vector<int> got;
  auto p = pipeline(node())
               .from(iota(41, 42))
               .via(buffer({.capacity = 1}))
               .to(for_each([&got](int x) { got.push_back(x); }));
  auto r = run_deterministic(*this, p);
  REQUIRE(r);
  CHECK(got == std::vector<int>{41});
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a capacity of 0 is rejected with invalid_argument",
                 "[actors]") {
  auto p = pipeline(node())
               .from(iota(0, 10))
               .via(buffer({.capacity = 0}))
               .to(counter());
  REQUIRE(p.validate());
  CHECK(is(p.validate(), errc::invalid_argument));
  CHECK(context_of(p.validate()).find("capacity") != std::string::npos);
  auto started = p.start([](caf::expected<pipeline_summary>) {});
  REQUIRE_FALSE(started);
  CHECK(is(started.error(), errc::invalid_argument));
  CHECK(node().owned_alive() == 0); // nothing was spawned
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a parallelism of 0 is rejected with invalid_argument",
                 "[actors]") {
  auto p1 = pipeline(node()).from(iota(0, 10)).to(counter(), parallel(0));
  CHECK(is(p1.validate(), errc::invalid_argument));
  CHECK(context_of(p1.validate()).find("parallelism") != std::string::npos);
  auto p2 = pipeline(node())
                .from(iota(0, 10))
                .via(map([](int x) { return x; }), parallel(0))
                .to(counter());
  CHECK(is(p2.validate(), errc::invalid_argument));
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "an exception in a stage stops the pipeline naming the stage",
                 "[actors]") {
  auto p = pipeline(node())
               .from(iota(0, 1000))
               .via(buffer({.capacity = 16}))
               .via(map([](int x) {
                      if (x == 500)
                        throw std::runtime_error("bad item 500");
                      return x;
                    }).named("parse"))
               .to(counter());
  auto r = run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stage_failed));
  auto ctx = context_of(r.error());
  CHECK(ctx.find("'parse'") != std::string::npos);
  CHECK(ctx.find("bad item 500") != std::string::npos);
  CHECK(node().owned_alive() == 0); // every stage ended
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "an error returned by a consumer names the consumer",
                 "[actors]") {
  auto p = pipeline(node())
               .from(iota(0, 100))
               .to(for_each([](int x) -> caf::error {
                     if (x == 7)
                       return make_error(errc::invalid_argument, "seven");
                     return {};
                   }).named("sink"));
  auto r = run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stage_failed));
  CHECK(context_of(r.error()).find("'sink'") != std::string::npos);
  CHECK(context_of(r.error()).find("seven") != std::string::npos);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a producer that cannot open its file names itself",
                 "[actors]") {
  auto p = pipeline(node())
               .from(from_lines("/nonexistent/coactor/file.txt"))
               .to(counter());
  auto r = run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(context_of(r.error()).find("'lines'") != std::string::npos);
  CHECK(context_of(r.error()).find("/nonexistent/coactor/file.txt")
        != std::string::npos);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a dying consumer is detected and reported", "[actors]") {
  auto p = pipeline(node())
               .from(iota(0, 100000))
               .via(buffer({.capacity = 32}))
               .to(counter(), parallel(2));
  std::optional<caf::expected<pipeline_summary>> result;
  auto started = p.start(
      [&](caf::expected<pipeline_summary> r) { result = std::move(r); });
  REQUIRE(started);
  for (int i = 0; i < 20; ++i)
    run_once();
  auto victim = started->stage("counter[1]");
  REQUIRE(victim);
  CHECK_FALSE(started->stage("no such stage"));
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  run();
  REQUIRE(result);
  REQUIRE_FALSE(*result);
  CHECK(is(result->error(), errc::stage_failed));
  CHECK(context_of(result->error()).find("counter[1]") != std::string::npos);
  CHECK(node().owned_alive() == 0);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "cancelling a running pipeline completes it with cancelled",
                 "[actors]") {
  auto p = pipeline(node()).from(iota(0, 1000000)).to(counter());
  std::optional<caf::expected<pipeline_summary>> result;
  auto started = p.start(
      [&](caf::expected<pipeline_summary> r) { result = std::move(r); });
  REQUIRE(started);
  for (int i = 0; i < 10; ++i)
    run_once();
  started->cancel();
  run();
  REQUIRE(result);
  REQUIRE_FALSE(*result);
  CHECK(is(result->error(), errc::cancelled));
  CHECK(node().owned_alive() == 0);
}
