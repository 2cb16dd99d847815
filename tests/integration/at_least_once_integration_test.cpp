// kill -9 of the consumer process mid-stream: an at-least-once outlet
// redelivers what the killed consumer did not acknowledge to its restarted
// successor; nothing is lost, and an idempotent sink records every item once.
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "coactor/actors/remote.hpp"
#include "integration_support.hpp"

using namespace coactor;
using namespace coactor::actors;
using namespace coactor::testing::integration;

namespace {

constexpr int64_t items = 1'000'000;

const std::regex consumed_re{"consumed ([0-9]+)"};

running_peer start_consumer(const std::string& out, uint16_t port,
                            bool idempotent) {
  std::vector<std::string> argv{COACTOR_ALO_CONSUMER, "--port",
                                std::to_string(port), "--out", out};
  if (idempotent)
    argv.emplace_back("--idempotent");
  return start_process(std::move(argv));
}

} // namespace

TEST_CASE(
    "kill -9 of the consumer loses nothing and an idempotent sink records "
    "each item once",
    "[integration][at_least_once]") {
  auto idem = GENERATE(true, false);
  // Fault timing: the kill lands after this many items were consumed.
  auto kill_after = GENERATE(as<int64_t>{}, 100'000, 450'000, 800'000);
  INFO("idempotent " << idem << ", kill after " << kill_after);
  auto out = (std::filesystem::temp_directory_path()
              / ("coactor_alo_" + std::to_string(::getpid()) + ".txt"))
                 .string();
  std::filesystem::remove(out);
  auto first = start_consumer(out, 0, idem);
  auto port = first.port;
  auto opts = client_options("producer");
  register_item_type<int64_t>(opts.types, "int64");
  auto producer = node::create(opts);
  REQUIRE(producer);
  auto peer = connect_ok(*producer, port);
  auto inlet_hdl = lookup_ok(*producer, peer, "numbers");
  auto done = std::make_shared<std::promise<caf::expected<pipeline_summary>>>();
  auto fut = done->get_future();
  auto started
      = pipeline(*producer)
            .from(iota<int64_t>(0, items))
            .to(outlet<int64_t>(inlet_hdl, "numbers")
                    .at_least_once("127.0.0.1", port, std::chrono::seconds{30}))
            .start([done](caf::expected<pipeline_summary> r) {
              done->set_value(std::move(r));
            });
  REQUIRE(started);
  // Mid-stream: kill -9, then start the consumer again on the same port.
  for (;;) {
    auto m = first.proc.wait_for_line(consumed_re, 30s);
    INFO("consumer output: " << first.proc.output());
    if (!m && fut.wait_for(0s) == std::future_status::ready)
      FAIL("the sending run ended: " << why(fut.get()));
    REQUIRE(m);
    if (std::stoll((*m)[1].str()) >= kill_after)
      break;
  }
  first.proc.signal(SIGKILL);
  auto status = first.proc.wait_exit(10s);
  REQUIRE(status);
  CHECK(WIFSIGNALED(*status));
  auto second = start_consumer(out, port, idem);
  auto sent = get_within(fut, 60s);
  INFO(why(sent));
  REQUIRE(sent);
  CHECK(sent->consumed == static_cast<uint64_t>(items));
  auto exit = second.proc.wait_exit(30s);
  INFO("consumer output: " << second.proc.output());
  REQUIRE(exit);
  REQUIRE(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
  auto seen = testing::integration::tally(out, items);
  CHECK(seen.lost == 0);
  if (idem) {
    CHECK(seen.repeats == 0); // effectively once
  } else {
    // At least once: what the killed consumer wrote but did not
    // acknowledge came again.
    CHECK(seen.repeats <= sent->redelivered);
  }
  // The batches in flight when the consumer died came again.
  CHECK(sent->redelivered > 0);
  std::filesystem::remove(out);
}
