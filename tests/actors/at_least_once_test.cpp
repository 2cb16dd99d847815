// At-least-once edges: acknowledgements after processing, redelivery to a
// replaced inlet, idempotent sinks, and the stages that cannot promise it.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "coactor/actors/detail/ack_log.hpp"
#include "coactor/actors/idempotent.hpp"
#include "coactor/actors/remote.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "support/deterministic.hpp"
#include "support/networked.hpp"

using namespace coactor;
using namespace coactor::actors;
using namespace std::chrono_literals;

namespace {

using result = caf::expected<pipeline_summary>;
using result_future = std::future<result>;

node_options net_options(std::string name, bool listen) {
  auto opts = testing::net_options(std::move(name), listen);
  register_item_type<int64_t>(opts.types, "int64");
  return opts;
}

template <class Pipeline>
result_future start_async(const Pipeline& p,
                          std::optional<running_pipeline>* running = nullptr) {
  auto done = std::make_shared<std::promise<result>>();
  auto fut = done->get_future();
  auto started = p.start([done](result r) { done->set_value(std::move(r)); });
  REQUIRE(started);
  if (running != nullptr)
    *running = *started;
  return fut;
}

result wait(result_future& f) {
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  return f.get();
}

std::string why(const result& r) {
  return r ? std::string{"completed"} : describe(r.error());
}

uint16_t port_of(node& n) {
  auto p = remote::port(n);
  REQUIRE(p);
  return *p;
}

caf::actor lookup_on(node& from, node& to, const std::string& name) {
  auto p = remote::connect(from, "127.0.0.1", port_of(to));
  REQUIRE(p);
  auto hdl = remote::lookup(from, *p, name);
  REQUIRE(hdl);
  return *hdl;
}

// What a durable sink recorded: every item it consumed, in order.
struct record {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<int64_t> items;

  void add(const std::vector<int64_t>& xs) {
    std::lock_guard<std::mutex> guard{mtx};
    items.insert(items.end(), xs.begin(), xs.end());
    cv.notify_all();
  }
  bool wait_for_at_least(size_t n) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 30s, [&] { return items.size() >= n; });
  }
  std::optional<uint64_t> last() {
    std::lock_guard<std::mutex> guard{mtx};
    if (items.empty())
      return std::nullopt;
    return static_cast<uint64_t>(items.back());
  }
};

auto recording(std::shared_ptr<record> rec) {
  return [rec](std::vector<int64_t>& xs) {
    rec->add(xs);
  };
}

auto identity_key = [](int64_t x) {
  return x;
};

// Waits until `hdl` has exited.
void wait_down(node& n, const caf::actor& hdl) {
  caf::scoped_actor self{n.system()};
  self->monitor(hdl);
  self->receive([](caf::down_msg&) {});
}

} // namespace

TEST_CASE("the ack log settles batches in send order and redelivers the rest",
          "[actors][at_least_once]") {
  coactor::actors::detail::ack_log sent_log;
  sent_log.sent(0, 0, caf::make_message(1), 10, 10);
  sent_log.sent(1, 0, caf::make_message(2), 5, 15);
  sent_log.sent(0, 1, caf::make_message(3), 10, 25);
  CHECK(sent_log.unacked_items() == 25);
  // Path 1 acknowledges first: nothing settles before path 0's batch 0.
  REQUIRE(sent_log.ack(1, 0, 1));
  CHECK(sent_log.settled() == 0);
  CHECK(sent_log.unacked_items() == 20);
  REQUIRE(sent_log.ack(0, 0, 2));
  CHECK(sent_log.settled() == 15);
  CHECK_FALSE(sent_log.ack(0, 2, 2)); // never sent on path 0
  // Path 0's receiver is replaced: its batch 1 goes again, from seq 1.
  CHECK(sent_log.redeliver(0, 2) == 1);
  CHECK(sent_log.resend_pending(0));
  CHECK_FALSE(sent_log.resend_pending(1));
  std::vector<int> resent;
  sent_log.resend(0, [&](coactor::actors::detail::ack_log::entry& e) {
    resent.push_back(e.msg.get_as<int>(0));
    return true;
  });
  CHECK(resent == std::vector<int>{3});
  CHECK(sent_log.redelivered() == 10);
  CHECK_FALSE(sent_log.resend_pending(0));
  REQUIRE(sent_log.ack(0, 1, 2));
  CHECK(sent_log.settled() == 25);
  CHECK(sent_log.unacked_items() == 0);
  CHECK(sent_log.redeliver(0, 2) == 2); // nothing left: the next new batch
}

TEST_CASE("an at-least-once edge completes once every item was consumed",
          "[actors][at_least_once]") {
  auto b = testing::make_node(net_options("b", true));
  auto rec = std::make_shared<record>();
  auto receiving = start_async(
      pipeline(b)
          .from(inlet<int64_t>("in", {.capacity = 512}))
          .via(map([](int64_t x) { return x; }))
          .via(buffer({.capacity = 256}))
          .to(idempotent(identity_key, std::nullopt, recording(rec), 64)));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  constexpr int64_t n = 100'000;
  auto sent = pipeline(a)
                  .from(iota<int64_t>(0, n))
                  .to(outlet<int64_t>(in, "in").at_least_once("127.0.0.1",
                                                              port_of(b)))
                  .run();
  INFO(why(sent));
  REQUIRE(sent);
  CHECK(sent->consumed == n);
  CHECK(sent->redelivered == 0);
  auto got = wait(receiving);
  INFO(why(got));
  REQUIRE(got);
  CHECK(got->consumed == n);
  CHECK(got->duplicates == 0);
  std::vector<int64_t> expected(n);
  for (int64_t i = 0; i < n; ++i)
    expected[static_cast<size_t>(i)] = i;
  CHECK(rec->items == expected);
}

TEST_CASE("a killed inlet's successor gets every unacknowledged batch",
          "[actors][at_least_once]") {
  auto b = testing::make_node(net_options("b", true));
  auto rec = std::make_shared<record>();
  std::optional<running_pipeline> first;
  auto receiving = start_async(
      pipeline(b)
          .from(inlet<int64_t>("in", {.capacity = 1024}))
          .via(buffer({.capacity = 512}))
          .to(idempotent(identity_key, std::nullopt, recording(rec), 128)),
      &first);
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  constexpr int64_t n = 300'000;
  auto sending = start_async(pipeline(a)
                                 .from(iota<int64_t>(0, n))
                                 .to(outlet<int64_t>(in, "in").at_least_once(
                                     "127.0.0.1", port_of(b), 20s)));
  // Mid-stream, the inlet dies; its pipeline fails.
  REQUIRE(rec->wait_for_at_least(20'000));
  caf::anon_send_exit(in, caf::exit_reason::kill);
  auto lost = wait(receiving);
  REQUIRE_FALSE(lost);
  wait_down(b, first->stage("idempotent")); // nothing more gets recorded
  // Its successor resumes from what the sink recorded.
  auto again = start_async(
      pipeline(b)
          .from(inlet<int64_t>("in", {.capacity = 1024}))
          .to(idempotent(identity_key, rec->last(), recording(rec), 128)));
  auto sent = wait(sending);
  INFO(why(sent));
  REQUIRE(sent);
  CHECK(sent->consumed == n);
  CHECK(sent->redelivered > 0); // the batches in flight when it died
  CHECK_THAT(sent->to_string(), Catch::Contains("redelivered"));
  auto got = wait(again);
  INFO(why(got));
  REQUIRE(got);
  // Effectively once: every item recorded exactly once, in order.
  std::vector<int64_t> expected(n);
  for (int64_t i = 0; i < n; ++i)
    expected[static_cast<size_t>(i)] = i;
  CHECK(rec->items.size() == expected.size());
  CHECK(rec->items == expected);
  CHECK(got->duplicates + rec->items.size() >= got->consumed);
}

TEST_CASE("an inlet that does not come back fails the outlet in time",
          "[actors][at_least_once]") {
  auto b = testing::make_node(net_options("b", true));
  auto receiving = start_async(
      pipeline(b).from(inlet<int64_t>("in", {.capacity = 64})).to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  auto sending = start_async(pipeline(a)
                                 .from(iota<int64_t>(0, 1'000'000'000))
                                 .to(outlet<int64_t>(in, "in").at_least_once(
                                     "127.0.0.1", port_of(b), 1s)));
  caf::anon_send_exit(in, caf::exit_reason::kill);
  auto r = wait(sending);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::connection_failed));
  CHECK_THAT(context_of(r.error()),
             Catch::Contains("inlet 'in' at 127.0.0.1:")
                 && Catch::Contains("did not come back within 1 s"));
  CHECK_FALSE(wait(receiving));
}

TEST_CASE("stages that cannot keep the at-least-once promise say why",
          "[actors][at_least_once]") {
  auto b = testing::make_node(net_options("b", true));
  auto batching = start_async(
      pipeline(b).from(inlet<int64_t>("in")).via(batch(16)).to(counter()));
  auto dropping = start_async(
      pipeline(b)
          .from(inlet<int64_t>("in2"))
          .via(buffer({.capacity = 8, .policy = overflow_policy::drop_oldest}))
          .to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto port = port_of(b);
  for (auto* name : {"in", "in2"}) {
    auto in = lookup_on(a, b, name);
    auto r = pipeline(a)
                 .from(iota<int64_t>(0, 1000))
                 .to(outlet<int64_t>(in, name).at_least_once("127.0.0.1", port,
                                                             1s))
                 .run();
    CHECK_FALSE(r);
  }
  auto r1 = wait(batching);
  REQUIRE_FALSE(r1);
  CHECK(is(r1.error(), errc::invalid_argument));
  CHECK_THAT(context_of(r1.error()),
             Catch::Contains("at-least-once delivery: it holds partial "
                             "batches without a max_delay"));
  auto r2 = wait(dropping);
  REQUIRE_FALSE(r2);
  CHECK_THAT(context_of(r2.error()), Catch::Contains("drop_oldest"));
}

TEST_CASE("an inlet with rejoin takes a lost at-least-once outlet's successor",
          "[actors][at_least_once]") {
  auto b = testing::make_node(net_options("b", true));
  auto rec = std::make_shared<record>();
  inlet_options opts;
  opts.capacity = 1024;
  opts.rejoin = 10s;
  auto receiving = start_async(
      pipeline(b)
          .from(inlet<int64_t>("in", opts))
          .to(idempotent(identity_key, std::nullopt, recording(rec), 128)));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  auto port = port_of(b);
  std::optional<running_pipeline> first;
  auto lost = start_async(
      pipeline(a)
          .from(iota<int64_t>(0, 1'000'000'000))
          .to(outlet<int64_t>(in, "in").at_least_once("127.0.0.1", port, 20s)),
      &first);
  // Mid-stream, the outlet dies: the inlet goes on and waits for another.
  REQUIRE(rec->wait_for_at_least(20'000));
  caf::anon_send_exit(first->stage("outlet"), caf::exit_reason::kill);
  REQUIRE_FALSE(wait(lost));
  constexpr int64_t n = 100'000;
  auto sent
      = pipeline(a)
            .from(iota<int64_t>(0, n))
            .to(outlet<int64_t>(in, "in").at_least_once("127.0.0.1", port, 20s))
            .run();
  INFO(why(sent));
  REQUIRE(sent);
  auto got = wait(receiving);
  INFO(why(got));
  REQUIRE(got);
  // Every item once, in order: the successor's repeats were dropped.
  REQUIRE(rec->items.size() >= static_cast<size_t>(n));
  std::vector<int64_t> expected(rec->items.size());
  for (size_t i = 0; i < expected.size(); ++i)
    expected[i] = static_cast<int64_t>(i);
  CHECK(rec->items == expected);
  CHECK(got->duplicates > 0);
}

TEST_CASE("an inlet fails when a lost outlet has no successor in time",
          "[actors][at_least_once]") {
  auto rejoin = GENERATE(as<std::chrono::milliseconds>{}, 0ms, 300ms);
  INFO("rejoin " << rejoin.count() << " ms");
  auto b = testing::make_node(net_options("b", true));
  inlet_options opts;
  opts.capacity = 64;
  opts.rejoin = rejoin;
  auto receiving
      = start_async(pipeline(b).from(inlet<int64_t>("in", opts)).to(counter()));
  auto a = testing::make_node(net_options("a", false));
  auto in = lookup_on(a, b, "in");
  std::optional<running_pipeline> first;
  auto lost = start_async(pipeline(a)
                              .from(iota<int64_t>(0, 1'000'000'000))
                              .to(outlet<int64_t>(in, "in").at_least_once(
                                  "127.0.0.1", port_of(b), 20s)),
                          &first);
  caf::anon_send_exit(first->stage("outlet"), caf::exit_reason::kill);
  auto begin = std::chrono::steady_clock::now();
  auto r = wait(receiving);
  auto took = std::chrono::steady_clock::now() - begin;
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::stage_failed));
  CHECK_THAT(context_of(r.error()),
             Catch::Contains("stage 'outlet'") && Catch::Contains("died"));
  if (rejoin.count() > 0) {
    CHECK_THAT(context_of(r.error()),
               Catch::Contains("no successor opened its path within 300 ms"));
    CHECK(took >= 250ms);
  } else {
    CHECK_THAT(context_of(r.error()), !Catch::Contains("successor"));
  }
  CHECK(took < 5s);
  REQUIRE_FALSE(wait(lost));
}
