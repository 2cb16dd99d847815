// Faults of the link between a producer and a consumer node: a TCP proxy
// between them drops, stalls or delays the connection mid-stream. The
// at-least-once outlet reconnects through the proxy, the consumer's inlet
// (inlet_options::rejoin) takes it back, and every item arrives: nothing
// lost, repeats only from redelivery, none with an idempotent sink. A link
// down for longer than the outlet's deadline fails both ends in time.
#include <chrono>
#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "fault_support.hpp"
#include "support/tcp_proxy.hpp"

using namespace coactor;
using namespace coactor::testing;
using namespace coactor::testing::fault;
using namespace std::chrono_literals;

namespace {

constexpr int64_t items = 200'000;
constexpr auto rejoin = 20'000ms;

struct timing {
  int64_t after; // the fault lands after this many items were consumed
  bool idempotent;
};

} // namespace

TEST_CASE("a dropped link loses nothing and an idempotent sink records each "
          "item once",
          "[fault][link]") {
  auto t = GENERATE(timing{50'000, true}, timing{100'000, false},
                    timing{150'000, true}, timing{50'000, false});
  INFO("drop after " << t.after << ", idempotent " << t.idempotent);
  temp_file out{"drop"};
  auto consumer = start_consumer(out.path, 0, t.idempotent, rejoin);
  tcp_proxy proxy{consumer.port};
  producer prod{proxy.port(), items, std::chrono::seconds{20}};
  wait_consumed(consumer, prod, t.after);
  proxy.drop();
  auto sent = finish_and_check(prod, consumer, out.path, items, t.idempotent);
  CHECK(proxy.accepted() >= 2); // the outlet came back through the proxy
  CHECK(sent.redelivered > 0);  // what was in flight came again
}

TEST_CASE("a stalled link loses nothing, reconnecting when the stall outlasts "
          "the heartbeat timeout",
          "[fault][link]") {
  struct stall {
    int64_t after;
    std::chrono::milliseconds length;
    bool idempotent;
  };
  // 400 ms: within the nodes' connection timeout (1.2 s), the link stays;
  // 2.5 s: both nodes drop the link and the outlet reconnects.
  auto s = GENERATE(stall{50'000, 400ms, true}, stall{150'000, 400ms, false},
                    stall{50'000, 2500ms, false}, stall{100'000, 2500ms, true});
  INFO("stall after " << s.after << " for " << s.length.count()
                      << " ms, idempotent " << s.idempotent);
  temp_file out{"stall"};
  auto consumer = start_consumer(out.path, 0, s.idempotent, rejoin);
  tcp_proxy proxy{consumer.port};
  producer prod{proxy.port(), items, std::chrono::seconds{20}};
  wait_consumed(consumer, prod, s.after);
  proxy.stall_for(s.length);
  auto sent = finish_and_check(prod, consumer, out.path, items, s.idempotent);
  if (s.length > 2s) {
    CHECK(proxy.accepted() >= 2);
    CHECK(sent.redelivered > 0);
  }
}

TEST_CASE("a delayed link loses nothing", "[fault][link]") {
  struct delays {
    std::chrono::milliseconds from_start;
    int64_t after;
    std::chrono::milliseconds then;
    bool idempotent;
  };
  auto d = GENERATE(delays{1ms, 50'000, 20ms, true},
                    delays{5ms, 100'000, 0ms, false},
                    delays{0ms, 100'000, 50ms, true});
  INFO("delay " << d.from_start.count() << " ms, after " << d.after << " "
                << d.then.count() << " ms, idempotent " << d.idempotent);
  temp_file out{"delay"};
  auto consumer = start_consumer(out.path, 0, d.idempotent, rejoin);
  tcp_proxy proxy{consumer.port};
  proxy.delay(d.from_start);
  producer prod{proxy.port(), items, std::chrono::seconds{20}};
  wait_consumed(consumer, prod, d.after);
  proxy.delay(d.then);
  auto sent = finish_and_check(prod, consumer, out.path, items, d.idempotent);
  CHECK(proxy.accepted() == 1); // latency alone never broke the link
  CHECK(sent.redelivered == 0);
}

TEST_CASE("a link down past the reconnect deadline fails the producer with "
          "connection_failed in time",
          "[fault][link]") {
  auto after = GENERATE(as<int64_t>{}, 50'000, 150'000);
  INFO("link down after " << after);
  temp_file out{"down"};
  auto consumer = start_consumer(out.path, 0, true, 3000ms);
  tcp_proxy proxy{consumer.port};
  constexpr auto deadline = 2s;
  producer prod{proxy.port(), items, deadline};
  wait_consumed(consumer, prod, after);
  proxy.stall(); // new connections get nowhere ...
  auto down = std::chrono::steady_clock::now();
  proxy.drop(); // ... and the current one is gone
  auto r = integration::get_within(prod.fut, deadline + 2s);
  auto took = std::chrono::steady_clock::now() - down;
  REQUIRE_FALSE(r);
  CHECK(took < deadline + 2s);
  CHECK(is(r.error(), errc::connection_failed));
  CHECK_THAT(context_of(r.error()),
             Catch::Contains("inlet 'numbers' at 127.0.0.1:"
                             + std::to_string(proxy.port()))
                 && Catch::Contains("did not come back within 2 s"));
  // The consumer's inlet waited 3 s for the outlet, then failed.
  auto exit = consumer.proc.wait_exit(10s);
  REQUIRE(exit);
  REQUIRE(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 1);
}
