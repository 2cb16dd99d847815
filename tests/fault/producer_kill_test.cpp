// kill -9 of the producer process: a producer node (iota, committing what
// the consumer consumed to a file) → at-least-once outlet → the consumer
// node's inlet (inlet_options::rejoin). The producer is killed mid-stream
// and started again with the same arguments: it resumes after the committed
// count, the consumer's inlet takes the new outlet in the old one's place,
// and nothing is lost; with an idempotent sink every item is recorded once.
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "fault_support.hpp"

using namespace coactor;
using namespace coactor::testing;
using namespace coactor::testing::fault;
using namespace std::chrono_literals;

namespace {

constexpr int64_t items = 2'000'000;
constexpr auto rejoin = 20'000ms;

const std::regex committed_re{"committed ([0-9]+)"};
const std::regex sending_re{"sending to "};

struct producer_process {
  child_process proc;
  uint64_t resumed_after = 0;
};

producer_process start_producer(uint16_t to, const std::string& offsets) {
  auto proc = child_process::start(
      {COACTOR_ALO_PRODUCER, "--to", std::to_string(to), "--items",
       std::to_string(items), "--offsets", offsets});
  REQUIRE(proc);
  auto c = proc->wait_for_line(committed_re, 30s);
  INFO("producer output: " << proc->output());
  REQUIRE(c);
  // Read before the next wait: the match points into the output buffer.
  auto resumed_after = std::stoull((*c)[1].str());
  REQUIRE(proc->wait_for_line(sending_re, 30s));
  return {std::move(*proc), resumed_after};
}

// Returns how many of 0 .. n-1 are missing from the consumer's file.
size_t missing_below(const std::string& path, uint64_t n) {
  std::vector<bool> seen(n, false);
  std::ifstream in{path};
  int64_t x = 0;
  while (in >> x)
    if (x >= 0 && static_cast<uint64_t>(x) < n)
      seen[static_cast<size_t>(x)] = true;
  return static_cast<size_t>(std::count(seen.begin(), seen.end(), false));
}

// Reads the consumer's progress lines until it consumed at least `n` items
// and the producer committed some: the kill then lands after a commit.
void wait_consumed_and_committed(running_peer& consumer, producer_process& prod,
                                 int64_t n, const std::string& offsets) {
  for (;;) {
    auto m = consumer.proc.wait_for_line(consumed_re, 30s);
    INFO("consumer output: " << consumer.proc.output());
    INFO("producer output: " << prod.proc.output());
    REQUIRE(m);
    if (std::stoll((*m)[1].str()) < n)
      continue;
    auto c = actors::committed(offsets);
    REQUIRE(c);
    if (*c > 0)
      return;
  }
}

} // namespace

TEST_CASE("kill -9 of the producer loses nothing: it resumes after what the "
          "consumer acknowledged",
          "[fault][kill]") {
  struct timing {
    int64_t after; // the kill lands after the consumer consumed this many
    bool idempotent;
  };
  auto t = GENERATE(timing{300'000, true}, timing{900'000, false},
                    timing{1'500'000, true});
  INFO("kill after " << t.after << ", idempotent " << t.idempotent);
  temp_file out{"producer_out"};
  temp_file offsets{"producer_offsets"};
  auto consumer = start_consumer(out.path, 0, t.idempotent, rejoin);
  auto first = start_producer(consumer.port, offsets.path);
  CHECK(first.resumed_after == 0);
  wait_consumed_and_committed(consumer, first, t.after, offsets.path);
  first.proc.signal(SIGKILL);
  auto status = first.proc.wait_exit(10s);
  REQUIRE(status);
  CHECK(WIFSIGNALED(*status));
  // The commit never runs ahead of the sink: everything below it is in the
  // consumer's file already.
  auto at_kill = actors::committed(offsets.path);
  REQUIRE(at_kill);
  CHECK(*at_kill > 0);
  CHECK(missing_below(out.path, *at_kill) == 0);
  auto again = start_producer(consumer.port, offsets.path);
  CHECK(again.resumed_after == *at_kill);
  auto exit = again.proc.wait_exit(60s);
  INFO("producer output: " << again.proc.output());
  REQUIRE(exit);
  REQUIRE(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
  auto done = actors::committed(offsets.path);
  REQUIRE(done);
  CHECK(*done == static_cast<uint64_t>(items));
  auto cexit = consumer.proc.wait_exit(30s);
  INFO("consumer output: " << consumer.proc.output());
  REQUIRE(cexit);
  REQUIRE(WIFEXITED(*cexit));
  CHECK(WEXITSTATUS(*cexit) == 0);
  auto all = tally(out.path, items);
  INFO("repeats " << all.repeats);
  CHECK(all.lost == 0);
  if (t.idempotent)
    CHECK(all.repeats == 0);
}
