// The rate_limit stage: items leave no faster than per_second (plus the
// burst), measured; every item arrives in order; errors are located.
#include <chrono>

#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;
using Catch::Matchers::Contains;

namespace {

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

std::vector<std::string> numbers_below(int n) {
  std::vector<std::string> xs;
  for (int i = 0; i < n; ++i)
    xs.push_back(std::to_string(i));
  return xs;
}

std::string limited(int n, const std::string& options) {
  return "[[source]]\nkind = \"numbers\"\nto = " + std::to_string(n)
         + "\n[[stage]]\nname = \"limit\"\nkind = \"rate_limit\"\n" + options
         + "[[stage]]\nkind = \"lowercase\"\n[sink]\nkind = \"collect\"\n";
}

} // namespace

TEST_CASE("rate_limit lets items through no faster than per_second", "[spec]") {
  // 100 items at 200/s with the default burst (200/20 = 10 items): the
  // last leaves at least (100 - 10) / 200 = 0.45 s after the start.
  auto r = run_text(limited(100, "per_second = 200\n"));
  REQUIRE(r.summary);
  CHECK(r.items == numbers_below(100));
  auto t = seconds(r.summary->duration);
  CHECK(t >= 0.44); // a little below 0.45 for rounding
  CHECK(t < 20);
  auto* s = r.summary->stage("limit");
  REQUIRE(s != nullptr);
  CHECK(s->kind == "rate_limit");
  CHECK(s->out == 100);
}

TEST_CASE("rate_limit with burst = 1 spaces single items", "[spec]") {
  // 21 items at 50/s, one at a time: at least 20 gaps of 20 ms.
  auto r = run_text(limited(21, "per_second = 50\nburst = 1\n"));
  REQUIRE(r.summary);
  CHECK(r.items == numbers_below(21));
  auto t = seconds(r.summary->duration);
  CHECK(t >= 0.39); // 20 gaps of 20 ms, a little below for rounding
  CHECK(t < 20);
}

TEST_CASE("rate_limit with a small capacity delivers all of a fast source",
          "[spec]") {
  // The source could emit 3000 items at once; the stage grants no more than
  // its capacity, so the source waits and nothing is lost. With the default
  // burst of 1000, the last item leaves (3000 - 1000) / 20000 = 0.1 s after
  // the start at the earliest.
  auto r = run_text(limited(3000, "per_second = 20000\ncapacity = 64\n"));
  REQUIRE(r.summary);
  CHECK(r.items == numbers_below(3000));
  CHECK(seconds(r.summary->duration) >= 0.099);
}

TEST_CASE("rate_limit options are validated with located errors", "[spec]") {
  auto spec = [](const std::string& options) {
    return one_stage_spec("r", "rate_limit", options);
  };
  auto d = first_error(spec(""), "per_second");
  CHECK(d.to_string()
        == "t.toml:4:1: stage 'r': missing option 'per_second' (a number > 0, "
           "items per second)");
  d = first_error(spec("per_second = 0\n"), "per_second");
  CHECK(d.to_string()
        == "t.toml:7:14: stage 'r': option 'per_second': expected a number > "
           "0 and at most 1e9 (items per second), got 0");
  d = first_error(spec("per_second = \"fast\"\n"), "per_second");
  CHECK(d.to_string()
        == "t.toml:7:14: stage 'r': option 'per_second': expected a number, "
           "got a string");
  d = first_error(spec("per_second = 10\nburst = 0.5\n"), "burst");
  CHECK(d.to_string()
        == "t.toml:8:9: stage 'r': option 'burst': expected a number >= 1 and "
           "at most 1e9 (items let through at once), got 0.5");
}
