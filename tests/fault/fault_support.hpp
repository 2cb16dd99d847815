// Helpers of the fault tests: the consumer and relay processes, a producer
// node in the test process, and the tally of what the consumer recorded.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "coactor/actors/remote.hpp"
#include "integration_support.hpp"

namespace coactor::testing::fault {

using namespace std::chrono_literals;
using integration::running_peer;
using integration::tally;
using integration::tally_result;
using result = caf::expected<actors::pipeline_summary>;

inline const std::regex consumed_re{"consumed ([0-9]+)"};

/// Starts alo_consumer writing to `out`, its inlet rejoining for `rejoin`.
inline running_peer start_consumer(const std::string& out, uint16_t port,
                                   bool idempotent,
                                   std::chrono::milliseconds rejoin) {
  std::vector<std::string> argv{COACTOR_ALO_CONSUMER,
                                "--port",
                                std::to_string(port),
                                "--out",
                                out,
                                "--rejoin",
                                std::to_string(rejoin.count())};
  if (idempotent)
    argv.emplace_back("--idempotent");
  return integration::start_process(std::move(argv));
}

/// Starts alo_relay on `port` (0: any) sending to the consumer on `to`.
inline running_peer start_relay(uint16_t port, uint16_t to,
                                std::chrono::milliseconds rejoin) {
  return integration::start_process(
      {COACTOR_ALO_RELAY, "--port", std::to_string(port), "--to",
       std::to_string(to), "--rejoin", std::to_string(rejoin.count())});
}

/// A file in the temp directory, removed when the test ends.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& tag)
      : path((std::filesystem::temp_directory_path()
              / ("coactor_fault_" + tag + "_" + std::to_string(::getpid())
                 + ".txt"))
                 .string()) {
    std::filesystem::remove(path);
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

/// The producer: a node in the test process streaming 0 .. items-1 to the
/// inlet "numbers" on 127.0.0.1:port through an at-least-once outlet.
struct producer {
  std::optional<node> n;
  std::shared_ptr<std::promise<result>> done
      = std::make_shared<std::promise<result>>();
  std::future<result> fut = done->get_future();

  producer(uint16_t port, int64_t items, caf::timespan timeout) {
    using namespace coactor::actors;
    auto opts = integration::client_options("producer");
    register_item_type<int64_t>(opts.types, "int64");
    auto created = node::create(opts);
    REQUIRE(created);
    n.emplace(std::move(*created));
    auto peer = integration::connect_ok(*n, port);
    auto hdl = integration::lookup_ok(*n, peer, "numbers");
    auto started
        = pipeline(*n)
              .from(iota<int64_t>(0, items))
              .to(outlet<int64_t>(hdl, "numbers")
                      .at_least_once("127.0.0.1", port, timeout))
              .start([d = done](result r) { d->set_value(std::move(r)); });
    REQUIRE(started);
  }

  /// Returns whether the producer's run ended.
  bool ended() { return fut.wait_for(0s) == std::future_status::ready; }
};

/// Reads the consumer's progress until it consumed at least `n` items.
inline void wait_consumed(running_peer& consumer, producer& prod, int64_t n) {
  for (;;) {
    auto m = consumer.proc.wait_for_line(consumed_re, 30s);
    INFO("consumer output: " << consumer.proc.output());
    if (!m && prod.ended())
      FAIL("the producer's run ended: " << integration::why(prod.fut.get()));
    REQUIRE(m);
    if (std::stoll((*m)[1].str()) >= n)
      return;
  }
}

/// Waits for the producer's run and the consumer's exit, then checks that
/// nothing was lost, and with an idempotent sink that nothing came twice.
/// Returns the producer's summary.
inline actors::pipeline_summary
finish_and_check(producer& prod, running_peer& consumer, const std::string& out,
                 int64_t items, bool idempotent) {
  auto sent = integration::get_within(prod.fut, 60s);
  INFO(integration::why(sent));
  REQUIRE(sent);
  CHECK(sent->consumed == static_cast<uint64_t>(items));
  auto exit = consumer.proc.wait_exit(30s);
  INFO("consumer output: " << consumer.proc.output());
  REQUIRE(exit);
  REQUIRE(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
  auto t = tally(out, items);
  INFO("lost " << t.lost << ", repeats " << t.repeats << ", redelivered "
               << sent->redelivered);
  CHECK(t.lost == 0);
  if (idempotent)
    CHECK(t.repeats == 0); // exactly once
  else
    CHECK(t.repeats <= sent->redelivered); // repeats only from redelivery
  return *sent;
}

} // namespace coactor::testing::fault
