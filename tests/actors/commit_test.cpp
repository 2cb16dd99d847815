// Producers that commit how much of them the pipeline consumed (commit_to)
// and resume after it (skip): the count never runs ahead of the sinks, a
// rerun loses nothing.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/run_deterministic.hpp"
#include "coactor/actors/async.hpp"
#include "coactor/actors/pipeline.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace coactor::actors;

namespace {

// A directory of its own per test, removed at the end.
struct scratch {
  std::filesystem::path dir;
  scratch() {
    dir = std::filesystem::temp_directory_path()
          / ("coactor_commit_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  std::string file(const std::string& name) const { return dir / name; }
};

// Writes lines "0" .. "n-1" to `path`.
std::string numbered_lines(const std::string& path, int n) {
  std::ofstream out{path};
  for (int i = 0; i < n; ++i)
    out << i << '\n';
  return path;
}

node make_threaded_node() {
  node_options opts;
  opts.name = "commit";
  opts.threads = 2;
  opts.log_level = log::level::error;
  return testing::make_node(std::move(opts));
}

coactor::task<void> ignore(caf::scheduled_actor*, int64_t) {
  co_return;
}

} // namespace

TEST_CASE("a committing producer records every consumed item at the end",
          "[actors][commit]") {
  scratch s;
  auto lines = numbered_lines(s.file("in.txt"), 20'000);
  auto offsets = s.file("offsets");
  auto n = make_threaded_node();
  uint64_t kept = 0;
  // A filter between them: acknowledgements count the producer's items,
  // not the sink's.
  auto r = pipeline(n)
               .from(from_lines(lines).commit_to(offsets))
               .via(filter([](const std::string& x) {
                 return (x.back() - '0') % 2 == 0;
               }))
               .to(for_each([&kept](const std::string&) { ++kept; }))
               .run();
  REQUIRE(r);
  CHECK(kept == 10'000);
  auto c = committed(offsets);
  REQUIRE(c);
  CHECK(*c == 20'000);
}

TEST_CASE("the commit never runs ahead of the sink and a rerun with skip "
          "loses nothing",
          "[actors][commit]") {
  constexpr int total = 50'000;
  auto fail_at = GENERATE(1, 3'000, 37'000);
  INFO("the sink fails at item " << fail_at);
  scratch s;
  auto lines = numbered_lines(s.file("in.txt"), total);
  auto offsets = s.file("offsets");
  auto n = make_threaded_node();
  std::vector<int> first;
  auto r1 = pipeline(n)
                .from(from_lines(lines).commit_to(offsets))
                .to(for_each([&first, fail_at](const std::string& x) {
                  if (std::stoi(x) == fail_at)
                    throw std::runtime_error("sink fails");
                  first.push_back(std::stoi(x));
                }))
                .run();
  REQUIRE_FALSE(r1);
  auto c = committed(offsets);
  REQUIRE(c);
  // Consumed: 0 .. fail_at - 1. The file claims no more than that.
  REQUIRE(first.size() == static_cast<size_t>(fail_at));
  CHECK(*c <= static_cast<uint64_t>(fail_at));
  std::vector<int> second;
  auto r2 = pipeline(n)
                .from(from_lines(lines).skip(*c).commit_to(offsets, *c))
                .to(for_each([&second](const std::string& x) {
                  second.push_back(std::stoi(x));
                }))
                .run();
  REQUIRE(r2);
  // The rerun starts exactly at the commit and reaches the end.
  REQUIRE(second.size() == total - *c);
  for (size_t i = 0; i < second.size(); ++i)
    REQUIRE(second[i] == static_cast<int>(*c + i));
  auto done = committed(offsets);
  REQUIRE(done);
  CHECK(*done == static_cast<uint64_t>(total));
}

TEST_CASE("skip drops a prefix and may drop the whole stream",
          "[actors][commit]") {
  auto n = make_threaded_node();
  std::vector<int64_t> got;
  auto r = pipeline(n)
               .from(iota<int64_t>(0, 5000).skip(4990))
               .to(for_each([&got](int64_t x) { got.push_back(x); }))
               .run();
  REQUIRE(r);
  CHECK(got
        == std::vector<int64_t>{4990, 4991, 4992, 4993, 4994, 4995, 4996, 4997,
                                4998, 4999});
  got.clear();
  r = pipeline(n)
          .from(iota<int64_t>(0, 10).skip(11))
          .to(for_each([&got](int64_t x) { got.push_back(x); }))
          .run();
  REQUIRE(r);
  CHECK(got.empty());
}

TEST_CASE("bad commit files are errors naming the file", "[actors][commit]") {
  scratch s;
  auto missing = committed(s.file("none"));
  REQUIRE(missing);
  CHECK(*missing == 0);
  std::ofstream{s.file("garbage")} << "12x\n";
  auto garbage = committed(s.file("garbage"));
  REQUIRE_FALSE(garbage);
  CHECK(is(garbage.error(), errc::invalid_argument));
  CHECK(context_of(garbage.error()).find("garbage") != std::string::npos);
  // A commit file in a directory that does not exist fails the run.
  auto n = make_threaded_node();
  auto bad = s.file("no/such/dir/offsets");
  auto r = pipeline(n)
               .from(iota<int64_t>(0, 100).commit_to(bad))
               .to(for_each([](int64_t) {}))
               .run();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::io_error));
  CHECK(context_of(r.error()).find("no/such/dir/offsets") != std::string::npos);
}

TEST_CASE_METHOD(testing::deterministic_fixture,
                 "a committing producer into a consumer that cannot "
                 "acknowledge fails at once",
                 "[actors][commit]") {
  scratch s;
  auto p = pipeline(node())
               .from(iota<int64_t>(0, 100).commit_to(s.file("offsets")))
               .to(for_each_async<int64_t>(ignore));
  auto r = testing::run_deterministic(*this, p);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
  CHECK(context_of(r.error()).find("does not acknowledge")
        != std::string::npos);
}
