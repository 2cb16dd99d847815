#include "coactor/actors/remote.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "support/deterministic.hpp"
#include "support/networked.hpp"

using namespace coactor;
using namespace coactor::actors;
using namespace std::chrono_literals;

namespace {

using summary_future = std::future<caf::expected<pipeline_summary>>;

// A node of two threads; `listen` gives it a port (for inlets), otherwise it
// only connects. Both register int64_t streams unless `items` is false.
node_options net_options(std::string name, bool listen, bool items = true) {
  auto opts = testing::net_options(std::move(name), listen);
  if (items) {
    register_item_type<int64_t>(opts.types, "int64");
    register_item_type<std::string>(opts.types, "string");
  }
  return opts;
}

template <class Pipeline>
summary_future start_async(const Pipeline& p) {
  auto done = std::make_shared<std::promise<caf::expected<pipeline_summary>>>();
  auto fut = done->get_future();
  auto started = p.start([done](caf::expected<pipeline_summary> r) {
    done->set_value(std::move(r));
  });
  REQUIRE(started);
  return fut;
}

caf::expected<pipeline_summary> wait(summary_future& f) {
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

// Connects `from` to `to` and looks up `name` there.
caf::actor lookup_on(node& from, node& to, const std::string& name) {
  auto port = remote::port(to);
  REQUIRE(port);
  auto p = remote::connect(from, "127.0.0.1", *port);
  INFO((p ? "" : describe(p.error())));
  REQUIRE(p);
  auto hdl = remote::lookup(from, *p, name);
  INFO((hdl ? "" : describe(hdl.error())));
  REQUIRE(hdl);
  return *hdl;
}

std::string why(const caf::expected<pipeline_summary>& r) {
  return r ? std::string{"completed"} : describe(r.error());
}

} // namespace

TEST_CASE("an outlet feeds an inlet on another node within its credit",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto sum = std::make_shared<std::atomic<int64_t>>(0);
  auto receiving
      = start_async(pipeline(b)
                        .from(inlet<int64_t>("in", {.capacity = 4096}))
                        .to(for_each_batch([sum](std::vector<int64_t>& xs) {
                          int64_t s = 0;
                          for (auto x : xs)
                            s += x;
                          sum->fetch_add(s);
                        })));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  constexpr int64_t n = 200'000;
  auto sent = pipeline(a)
                  .from(iota<int64_t>(0, n))
                  .via(buffer({.capacity = 1000}))
                  .to(outlet<int64_t>(in, "in"))
                  .run();
  INFO(why(sent));
  REQUIRE(sent);
  CHECK(sent->produced == n);
  CHECK(sent->consumed == n); // handed to the inlet
  REQUIRE(sent->stage("outlet") != nullptr);
  CHECK(sent->stage("outlet")->kind == "outlet");
  auto got = wait(receiving);
  INFO(why(got));
  REQUIRE(got);
  CHECK(got->produced == n); // arrived at the inlet
  CHECK(got->consumed == n);
  CHECK(sum->load() == n * (n - 1) / 2);
  auto* st = got->stage("in");
  REQUIRE(st != nullptr);
  CHECK(st->kind == "inlet");
  CHECK(st->high_water <= 4096); // never more than the credit it granted
}

TEST_CASE("an inlet takes the streams of several outlets and ends after all",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto receiving = start_async(
      pipeline(b).from(inlet<int64_t>("in", {.upstreams = 2})).to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  auto first = start_async(
      pipeline(a).from(iota<int64_t>(0, 5000)).to(outlet<int64_t>(in, "in")));
  auto second = start_async(
      pipeline(a).from(iota<int64_t>(0, 7000)).to(outlet<int64_t>(in, "in")));
  CHECK(wait(first));
  CHECK(wait(second));
  auto got = wait(receiving);
  INFO(why(got));
  REQUIRE(got);
  CHECK(got->consumed == 12000);
}

TEST_CASE("an inlet's name is free again once its pipeline ended",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto receiving
      = start_async(pipeline(b).from(inlet<int64_t>("in")).to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  REQUIRE(pipeline(a)
              .from(iota<int64_t>(0, 10))
              .to(outlet<int64_t>(in, "in"))
              .run());
  REQUIRE(wait(receiving));
  // The run completed after the inlet ended: its name is free again.
  auto again
      = start_async(pipeline(b).from(inlet<int64_t>("in")).to(counter()));
  auto in2 = lookup_on(a, b, "in");
  CHECK(in2 != in);
  REQUIRE(pipeline(a)
              .from(iota<int64_t>(0, 10))
              .to(outlet<int64_t>(in2, "in"))
              .run());
  auto got = wait(again);
  INFO(why(got));
  REQUIRE(got);
  CHECK(got->consumed == 10);
}

TEST_CASE("a dead inlet fails the sending pipeline, naming its node",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto receiving = start_async(
      pipeline(b)
          .from(inlet<int64_t>("in", {.capacity = 64}))
          .to(for_each([](int64_t) {}, 1))); // a slow sink: a long run
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  auto sending = start_async(pipeline(a)
                                 .from(iota<int64_t>(0, 1'000'000'000))
                                 .to(outlet<int64_t>(in, "in")));
  caf::anon_send_exit(in, caf::exit_reason::kill);
  auto r = wait(sending);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stage_failed));
  auto ctx = context_of(r.error());
  CHECK_THAT(ctx, Catch::Contains("stage 'in' on node 'b' at 127.0.0.1:"));
  CHECK_THAT(ctx, Catch::Contains("downstream of 'outlet'"));
  CHECK_FALSE(wait(receiving));
}

TEST_CASE("a dead outlet fails the receiving pipeline, naming its node",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto receiving = start_async(
      pipeline(b).from(inlet<int64_t>("in", {.capacity = 64})).to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  auto sending = pipeline(a)
                     .from(iota<int64_t>(0, 1'000'000'000))
                     .to(outlet<int64_t>(in, "in").named("to_b"))
                     .start([](caf::expected<pipeline_summary>) {});
  REQUIRE(sending);
  auto to_b = sending->stage("to_b");
  REQUIRE(to_b);
  caf::anon_send_exit(to_b, caf::exit_reason::kill);
  auto r = wait(receiving);
  REQUIRE_FALSE(r);
  // b learned a's name from a's hello when a connected.
  CHECK_THAT(context_of(r.error()),
             Catch::Contains("stage 'to_b' on node 'a' (upstream of 'in')"));
}

TEST_CASE("a batch of another item type fails the inlet instead of vanishing",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto receiving
      = start_async(pipeline(b).from(inlet<std::string>("in")).to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  auto sent = pipeline(a)
                  .from(iota<int64_t>(0, 100))
                  .to(outlet<int64_t>(in, "in"))
                  .run();
  auto got = wait(receiving);
  REQUIRE_FALSE(got);
  CHECK(is(got.error(), errc::protocol_violation));
  CHECK_THAT(context_of(got.error()), Catch::Contains("stage 'in'"));
  CHECK_THAT(context_of(got.error()), Catch::Contains("node 'a'"));
  REQUIRE_FALSE(sent); // the inlet's error reached the outlet
  CHECK(is(sent.error(), errc::protocol_violation));
}

TEST_CASE("an outlet refuses an item type the inlet's node did not register",
          "[actors][remote]") {
  auto b_opts = net_options("b", true, false);
  register_item_type<std::string>(b_opts.types, "string");
  auto b = testing::make_node(b_opts);
  auto receiving
      = start_async(pipeline(b)
                        .from(inlet<std::string>("in", {.open_timeout = 10s}))
                        .to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  auto sent = pipeline(a)
                  .from(iota<int64_t>(0, 100))
                  .to(outlet<int64_t>(in, "in"))
                  .run();
  REQUIRE_FALSE(sent);
  CHECK(is(sent.error(), errc::type_not_registered));
  CHECK_THAT(context_of(sent.error()), Catch::Contains("coactor.batch<int64>")
                                           && Catch::Contains("node 'b'"));
  caf::anon_send_exit(in, caf::exit_reason::user_shutdown);
  CHECK_FALSE(wait(receiving));
}

TEST_CASE("an inlet whose outlets never open fails at its open timeout",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto r
      = pipeline(b)
            .from(inlet<int64_t>("in", {.upstreams = 2, .open_timeout = 100ms}))
            .to(counter())
            .run();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::timeout));
  CHECK_THAT(context_of(r.error()),
             Catch::Contains("stage 'in': 0 of 2 upstreams opened"));
}

TEST_CASE("an inlet on a node without networking fails its run at start",
          "[actors][remote]") {
  node_options opts;
  opts.name = "plain";
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto n = testing::make_node(opts);
  auto r = pipeline(n).from(inlet<int64_t>("in")).to(counter()).run();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_config));
  CHECK_THAT(context_of(r.error()), Catch::Contains("inlet 'in'"));
}

TEST_CASE("an inlet without upstreams is rejected before anything runs",
          "[actors][remote]") {
  auto b = testing::make_node(net_options("b", true));
  auto p
      = pipeline(b).from(inlet<int64_t>("in", {.upstreams = 0})).to(counter());
  REQUIRE(p.validate());
  CHECK(is(p.validate(), errc::invalid_argument));
  CHECK_FALSE(p.start([](caf::expected<pipeline_summary>) {}));
}

TEST_CASE("an outlet without a target is an error, not a hang",
          "[actors][remote]") {
  auto a = testing::make_node(net_options("a", false));
  auto r = pipeline(a)
               .from(iota<int64_t>(0, 10))
               .to(outlet<int64_t>(caf::actor{}))
               .run();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_argument));
}
