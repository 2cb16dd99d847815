// Stages that act on time while the stream runs: batch's max_delay_ms and
// count_by_key's window_ms flush before the end of the stream.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;

namespace {

// Five ticks 100 ms apart: a stage holding items back for 20 ms must emit
// long before the next tick, so an early flush shows as several outputs.
const std::string slow_ticks
    = "[[source]]\nkind = \"timer\"\nperiod_ms = 100\ncount = 5\n"
      "[[stage]]\nkind = \"buffer\"\ncapacity = 16\n"
      "overflow = \"drop_newest\"\n";

const std::string collect = "[sink]\nkind = \"collect\"\n";

} // namespace

TEST_CASE("batch with max_delay_ms emits partial groups while the stream runs",
          "[spec]") {
  auto r = run_text(slow_ticks
                    + "[[stage]]\nkind = \"batch\"\nsize = 100\n"
                      "max_delay_ms = 20\n"
                    + collect);
  REQUIRE(r.summary);
  // Flushed only at the end, the five ticks would form one array.
  CHECK(r.items.size() >= 2);
  std::vector<int> ticks;
  for (auto& x : r.items)
    for (auto& v : nlohmann::json::parse(x))
      ticks.push_back(v.get<int>());
  CHECK(ticks == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("batch without max_delay_ms emits a partial group only at the end",
          "[spec]") {
  auto r = run_text(slow_ticks + "[[stage]]\nkind = \"batch\"\nsize = 100\n"
                    + collect);
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"[0,1,2,3,4]"});
}

TEST_CASE("count_by_key with window_ms emits counts while the stream runs",
          "[spec]") {
  auto r = run_text(slow_ticks
                    + "[[stage]]\nkind = \"map\"\npattern = \"[0-9]+\"\n"
                      "replace = \"tick\"\n"
                      "[[stage]]\nkind = \"count_by_key\"\nwindow_ms = 20\n"
                    + collect);
  REQUIRE(r.summary);
  // Flushed only at the end there would be one line, "tick\t5".
  CHECK(r.items.size() >= 2);
  uint64_t total = 0;
  for (auto& x : r.items) {
    REQUIRE(x.rfind("tick\t", 0) == 0);
    total += std::stoull(x.substr(5));
  }
  CHECK(total == 5);
}
