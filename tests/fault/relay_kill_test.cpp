// kill -9 of an intermediate node: producer (this process) → relay node (an
// inlet, a map stage, an at-least-once outlet) → consumer node. The relay is
// killed mid-stream and started again on its port: the producer's outlet
// redelivers to the new relay what the consumer had not acknowledged
// through the old one, the consumer's inlet (inlet_options::rejoin) takes
// the new relay's outlet in the old one's place, and nothing is lost; with
// an idempotent sink, every item is recorded once.
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "fault_support.hpp"

using namespace coactor;
using namespace coactor::testing;
using namespace coactor::testing::fault;
using namespace std::chrono_literals;

namespace {

constexpr int64_t items = 400'000;
constexpr auto rejoin = 20'000ms;

} // namespace

TEST_CASE("kill -9 of the middle node loses nothing and an idempotent sink "
          "records each item once",
          "[fault][kill]") {
  struct timing {
    int64_t after; // the kill lands after the consumer consumed this many
    bool idempotent;
  };
  auto t = GENERATE(timing{50'000, true}, timing{150'000, false},
                    timing{300'000, true}, timing{100'000, false});
  INFO("kill after " << t.after << ", idempotent " << t.idempotent);
  temp_file out{"relay"};
  auto consumer = start_consumer(out.path, 0, t.idempotent, rejoin);
  auto relay = start_relay(0, consumer.port, rejoin);
  auto relay_port = relay.port;
  producer prod{relay_port, items, std::chrono::seconds{20}};
  wait_consumed(consumer, prod, t.after);
  relay.proc.signal(SIGKILL);
  auto status = relay.proc.wait_exit(10s);
  REQUIRE(status);
  CHECK(WIFSIGNALED(*status));
  auto again = start_relay(relay_port, consumer.port, rejoin);
  auto sent = finish_and_check(prod, consumer, out.path, items, t.idempotent);
  CHECK(sent.redelivered > 0); // what the killed relay held came again
  auto exit = again.proc.wait_exit(30s);
  INFO("relay output: " << again.proc.output());
  REQUIRE(exit);
  REQUIRE(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
}

TEST_CASE("two kills -9 of the middle node lose nothing", "[fault][kill]") {
  auto idem = GENERATE(true, false);
  INFO("idempotent " << idem);
  temp_file out{"relay2"};
  auto consumer = start_consumer(out.path, 0, idem, rejoin);
  auto relay = start_relay(0, consumer.port, rejoin);
  auto relay_port = relay.port;
  producer prod{relay_port, items, std::chrono::seconds{20}};
  for (int64_t after : {100'000, 250'000}) {
    wait_consumed(consumer, prod, after);
    relay.proc.signal(SIGKILL);
    auto status = relay.proc.wait_exit(10s);
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    relay = start_relay(relay_port, consumer.port, rejoin);
  }
  auto sent = finish_and_check(prod, consumer, out.path, items, idem);
  CHECK(sent.redelivered > 0);
  auto exit = relay.proc.wait_exit(30s);
  REQUIRE(exit);
  REQUIRE(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
}
