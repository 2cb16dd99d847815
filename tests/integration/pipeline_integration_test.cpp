// Pipelines across processes: stages placed on a `coactor node` process,
// joined to this process's pipelines through inlets and outlets; a node
// killed mid-stream, and restarted.
#include "coactor/actors/placement.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/actors/remote.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "integration_support.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace coactor::actors;
using namespace std::chrono_literals;
using namespace coactor::testing::integration;
using coactor::testing::child_process;

#ifdef COACTOR_TOOL

namespace {

using summary = caf::expected<pipeline_summary>;
using clock_type = std::chrono::steady_clock;

running_peer start_tool(uint16_t port = 0) {
  return start_process({COACTOR_TOOL, "node", "--port", std::to_string(port),
                        "--name", "tool", "--log-level", "error"});
}

// This process's node: listens (for inlets) and knows the stage types.
node make_local() {
  auto opts = client_options("local");
  opts.port = 0;
  register_stage_types(opts.types);
  return coactor::testing::make_node(opts);
}

// A `coactor node` process and this process's node, connected to it.
struct tool_session {
  running_peer tool = start_tool();
  node local = make_local();
  remote::peer peer = connect_ok(local, tool.port);
};

std::future<summary> start_async(const runnable_pipeline& p,
                                 running_pipeline* running = nullptr) {
  auto done = std::make_shared<std::promise<summary>>();
  auto fut = done->get_future();
  auto r = p.start([done](summary s) { done->set_value(std::move(s)); });
  REQUIRE(r);
  if (running != nullptr)
    *running = *r;
  return fut;
}

std::string why_not(const summary& s) {
  return s ? std::string{"completed"} : describe(s.error());
}

// An endless source of 1s that fulfils `started` once it produced `after`
// items, so a test knows the stream is flowing.
producer<int64_t> flowing(std::shared_ptr<std::promise<void>> started,
                          uint64_t after) {
  return from_generator<int64_t>([started, after] {
    return [started, after, n = uint64_t{0}](std::vector<int64_t>& out,
                                             size_t max) mutable {
      out.assign(max, 1);
      if (n < after && n + max >= after)
        started->set_value();
      n += max;
      return true;
    };
  });
}

placement counter_named(std::string name) {
  placement p;
  p.kind = "counter";
  p.name = std::move(name);
  return p;
}

} // namespace

TEST_CASE("a buffer in this process feeds a counter placed on a node process",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  auto sink = place(local, peer, counter_named("count"));
  INFO((sink ? "" : describe(sink.error())));
  REQUIRE(sink);
  REQUIRE(sink->input);
  constexpr int64_t n = 300'000;
  auto sent = pipeline(local)
                  .from(iota<int64_t>(0, n))
                  .via(buffer({.capacity = 1000}))
                  .to(outlet<int64_t>(sink->input, "count"))
                  .run();
  INFO(why_not(sent));
  REQUIRE(sent);
  CHECK(sent->consumed == n);
  auto counted = get_within(sink->done, 30s);
  INFO((counted ? "" : describe(counted.error())));
  REQUIRE(counted);
  CHECK(*counted == static_cast<uint64_t>(n));
}

TEST_CASE("a producer placed on a node process feeds a buffer in this process",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  auto sum = std::make_shared<std::atomic<int64_t>>(0);
  running_pipeline running;
  auto receiving
      = start_async(pipeline(local)
                        .from(inlet<int64_t>("in"))
                        .via(buffer({.capacity = 500}))
                        .to(for_each([sum](int64_t x) { sum->fetch_add(x); })),
                    &running);
  placement p;
  p.kind = "iota";
  p.name = "numbers";
  p.count = 100'000;
  p.downstream = running.stage("in");
  REQUIRE(p.downstream);
  auto source = place(local, peer, p);
  INFO((source ? "" : describe(source.error())));
  REQUIRE(source);
  auto got = get_within(receiving, 30s);
  INFO(why_not(got));
  REQUIRE(got);
  CHECK(got->consumed == 100'000);
  CHECK(sum->load() == int64_t{100'000} * 99'999 / 2);
  auto produced = get_within(source->done, 30s);
  REQUIRE(produced);
  CHECK(*produced == 100'000);
}

TEST_CASE("a buffer placed on a node process sits between two pipelines here",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  // local: numbers -> outlet ==> tool: inlet -> buffer -> outlet ==> local:
  // inlet "back" -> sum
  auto sum = std::make_shared<std::atomic<int64_t>>(0);
  running_pipeline back;
  auto receiving
      = start_async(pipeline(local)
                        .from(inlet<int64_t>("back"))
                        .to(for_each([sum](int64_t x) { sum->fetch_add(x); })),
                    &back);
  placement p;
  p.kind = "buffer";
  p.name = "relay";
  p.capacity = 100;
  p.downstream = back.stage("back");
  REQUIRE(p.downstream);
  auto relay = place(local, peer, p);
  INFO((relay ? "" : describe(relay.error())));
  REQUIRE(relay);
  auto sent = pipeline(local)
                  .from(iota<int64_t>(0, 50'000))
                  .to(outlet<int64_t>(relay->input, "relay"))
                  .run();
  INFO(why_not(sent));
  REQUIRE(sent);
  auto got = get_within(receiving, 30s);
  INFO(why_not(got));
  REQUIRE(got);
  CHECK(got->consumed == 50'000);
  CHECK(sum->load() == int64_t{50'000} * 49'999 / 2);
  auto forwarded = get_within(relay->done, 30s);
  REQUIRE(forwarded);
  CHECK(*forwarded == 50'000);
}

TEST_CASE("a file sink placed on a node process writes every item",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  auto path = std::filesystem::temp_directory_path()
              / ("coactor_placed_" + std::to_string(::getpid()) + ".txt");
  placement p;
  p.kind = "to_file";
  p.item_type = "string";
  p.name = "lines";
  p.path = path.string();
  auto sink = place(local, peer, p);
  REQUIRE(sink);
  std::vector<std::string> words{"alpha", "beta", "gamma"};
  auto sent = pipeline(local)
                  .from(from_range(words))
                  .to(outlet<std::string>(sink->input, "lines"))
                  .run();
  INFO(why_not(sent));
  REQUIRE(sent);
  auto written = get_within(sink->done, 30s);
  REQUIRE(written);
  CHECK(*written == 3);
  std::ifstream in{path};
  std::string all{std::istreambuf_iterator<char>{in}, {}};
  CHECK(all == "alpha\nbeta\ngamma\n");
  std::filesystem::remove(path);
}

TEST_CASE("kill -9 of the receiving node mid-stream fails the sender within "
          "2 s, naming the node",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  auto sink = place(local, peer, counter_named("count"));
  REQUIRE(sink);
  auto started = std::make_shared<std::promise<void>>();
  auto flowing_now = started->get_future();
  auto sending = start_async(pipeline(local)
                                 .from(flowing(started, 100'000))
                                 .via(buffer({.capacity = 1000}))
                                 .to(outlet<int64_t>(sink->input, "count")));
  REQUIRE(flowing_now.wait_for(30s) == std::future_status::ready);
  auto killed = clock_type::now();
  tool.proc.signal(SIGKILL);
  auto r = get_within(sending, 2s);
  auto detected = clock_type::now() - killed;
  INFO(
      "detected after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(detected).count()
      << " ms");
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stage_failed));
  CHECK_THAT(context_of(r.error()),
             Catch::Contains("stage 'count' on node 'tool' at 127.0.0.1:"));
  auto counted = get_within(sink->done, 2s);
  REQUIRE_FALSE(counted);
  CHECK(is(counted.error(), errc::connection_failed));
}

TEST_CASE("kill -9 of the sending node mid-stream fails the receiver within "
          "2 s, naming the node",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  auto started = std::make_shared<std::promise<void>>();
  auto flowing_now = started->get_future();
  auto seen = std::make_shared<std::atomic<uint64_t>>(0);
  running_pipeline running;
  auto receiving = start_async(
      pipeline(local)
          .from(inlet<int64_t>("in"))
          .to(for_each_batch([seen, started](std::vector<int64_t>& xs) {
            auto before = seen->fetch_add(xs.size());
            if (before < 50'000 && before + xs.size() >= 50'000)
              started->set_value();
          })),
      &running);
  placement p;
  p.kind = "iota";
  p.name = "numbers";
  p.count = uint64_t{1} << 40; // runs until killed
  p.downstream = running.stage("in");
  REQUIRE(p.downstream);
  auto source = place(local, peer, p);
  REQUIRE(source);
  REQUIRE(flowing_now.wait_for(30s) == std::future_status::ready);
  tool.proc.signal(SIGKILL);
  auto r = get_within(receiving, 2s);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stage_failed));
  CHECK_THAT(context_of(r.error()), Catch::Contains("on node 'tool'")
                                        && Catch::Contains("upstream of 'in'"));
}

TEST_CASE("after the node restarts on its port, a pipeline to it runs again",
          "[integration]") {
  auto tool = start_tool();
  auto port = tool.port;
  auto local = make_local();
  auto peer = connect_ok(local, port);
  auto first = place(local, peer, counter_named("count"));
  REQUIRE(first);
  tool.proc.signal(SIGKILL);
  REQUIRE(tool.proc.wait_exit(30s));
  REQUIRE_FALSE(get_within(first->done, 10s)); // the loss was noticed
  auto again = start_tool(port);
  REQUIRE(again.port == port);
  auto peer2 = connect_ok(local, port, {.attempts = 10});
  auto sink = place(local, peer2, counter_named("count"));
  INFO((sink ? "" : describe(sink.error())));
  REQUIRE(sink);
  auto sent = pipeline(local)
                  .from(iota<int64_t>(0, 10'000))
                  .to(outlet<int64_t>(sink->input, "count"))
                  .run();
  INFO(why_not(sent));
  REQUIRE(sent);
  auto counted = get_within(sink->done, 30s);
  REQUIRE(counted);
  CHECK(*counted == 10'000);
}

TEST_CASE("an actor places a stage without blocking and hears of its end",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  auto input = std::make_shared<std::promise<caf::expected<caf::actor>>>();
  auto report = std::make_shared<std::promise<uint64_t>>();
  auto input_f = input->get_future();
  auto report_f = report->get_future();
  local.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    async_place(self, peer, counter_named("count"),
                [input](caf::expected<caf::actor> x) { input->set_value(x); });
    return {
        [self, report](placed_atom, const std::string&, uint64_t items,
                       const caf::error&) {
          report->set_value(items);
          self->quit();
        },
    };
  });
  auto in = get_within(input_f, 30s);
  INFO((in ? "" : describe(in.error())));
  REQUIRE(in);
  REQUIRE(*in);
  REQUIRE(pipeline(local)
              .from(iota<int64_t>(0, 1234))
              .to(outlet<int64_t>(*in, "count"))
              .run());
  CHECK(get_within(report_f, 30s) == 1234);
}

TEST_CASE("a placement the node cannot build is a clear error",
          "[integration]") {
  tool_session session;
  auto& [tool, local, peer] = session;
  placement p;
  p.kind = "teleport";
  p.name = "x";
  auto r = place(local, peer, p);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
  CHECK_THAT(context_of(r.error()), Catch::Contains("unknown kind"));
  p.kind = "counter";
  p.item_type = "complex";
  r = place(local, peer, p);
  REQUIRE_FALSE(r);
  CHECK_THAT(context_of(r.error()), Catch::Contains("unknown item type"));
}

#endif

TEST_CASE("the streaming example's producer and consumer run in two processes",
          "[integration]") {
#ifndef COACTOR_EXAMPLE_STREAM_CONSUMER
  SUCCEED("the examples are not built");
#else
  auto consumer = start_process(
      {COACTOR_EXAMPLE_STREAM_CONSUMER, "--port", "0", "--log-level", "warn"});
  auto producer
      = child_process::start({COACTOR_EXAMPLE_STREAM_PRODUCER, "--peer-port",
                              std::to_string(consumer.port), "--orders", "2000",
                              "--log-level", "warn"});
  REQUIRE(producer);
  CHECK(producer->wait_for_line(std::regex{"stream producer: sent 2000 orders"},
                                60s));
  // Orders 1..2000 cost 100 + id cents each.
  CHECK(consumer.proc.wait_for_line(
      std::regex{"stream consumer: received 2000 orders, total 2201000 cents"},
      60s));
  auto status = consumer.proc.wait_exit(30s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
#endif
}
