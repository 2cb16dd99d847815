#include "coactor/actors/buffer.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/actors/protocol.hpp"
#include "coactor/error.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace coactor::actors;

namespace {

// The test's scoped actor plays upstream, downstream and controller of a
// lone buffer actor, speaking the protocol by hand.
struct buffer_fixture : testing::deterministic_fixture {
  std::vector<std::vector<int>> batches; // received as downstream
  int64_t demand = 0;                    // received as upstream
  std::vector<caf::error> failures;      // received as controller
  bool done = false;
  actors::detail::stage_probe_ptr probe;

  caf::actor spawn_buffer(size_t capacity, overflow_policy policy,
                          size_t upstreams = 1) {
    auto spec = buffer({.capacity = capacity, .policy = policy});
    actors::detail::flow_args<int, int> a;
    probe = std::make_shared<actors::detail::stage_probe>();
    probe->name = "buf";
    a.ctx.probe = probe;
    a.ctx.controller = caf::actor_cast<caf::actor>(self);
    a.capacity = capacity;
    a.upstreams = upstreams;
    a.policy = policy;
    a.downs.push_back({caf::actor_cast<caf::actor>(self), "test-sink"});
    a.make = spec.make<int>();
    auto hdl = spawn(actors::detail::flow_actor<int, int>, std::move(a));
    run();
    drain();
    self->send(hdl, open_atom::value, std::string{"test-source"});
    run();
    drain();
    return hdl;
  }

  void push(const caf::actor& buf, uint64_t seq, std::vector<int> xs) {
    self->send(buf, batch_message<int>{seq, 0, std::move(xs)});
    run();
    drain();
  }

  void grant(const caf::actor& buf, int64_t n) {
    self->send(buf, demand_atom::value, n);
    run();
    drain();
  }

  void drain() {
    bool more = true;
    while (more) {
      self->receive([&](open_atom, const std::string&) {},
                    [&](demand_atom, int64_t n) { demand += n; },
                    [&](batch_message<int>& b) { batches.push_back(b.items); },
                    [&](end_atom) {}, [&](stream_error_atom, caf::error&) {},
                    [&](stage_done_atom, uint32_t) { done = true; },
                    [&](stage_failed_atom, uint32_t, caf::error& err) {
                      failures.push_back(err);
                    },
                    [&](caf::down_msg&) {},
                    caf::after(std::chrono::seconds{0}) >>
                        [&] { more = false; });
    }
  }

  std::vector<int> received() const {
    std::vector<int> all;
    for (auto& b : batches)
      all.insert(all.end(), b.begin(), b.end());
    return all;
  }
};

} // namespace

TEST_CASE_METHOD(buffer_fixture,
                 "a buffer grants exactly its capacity as initial credit",
                 "[actors]") {
  spawn_buffer(8, overflow_policy::backpressure);
  CHECK(demand == 8);
}

TEST_CASE_METHOD(buffer_fixture,
                 "credit an upstream did not use before it ended goes to the "
                 "others",
                 "[actors]") {
  // Two upstreams share a capacity of 100: 50 credit each. This fixture's
  // actor is one of them, `other` the second.
  auto buf = spawn_buffer(100, overflow_policy::backpressure, 2);
  grant(buf, 1000); // downstream credit: nothing stays in the buffer
  caf::scoped_actor other{sys};
  int64_t other_demand = 0;
  auto exchange = [&] {
    run();
    drain();
    bool more = true;
    while (more)
      other->receive([&](demand_atom, int64_t n) { other_demand += n; },
                     caf::after(std::chrono::seconds{0}) >>
                         [&] { more = false; });
  };
  other->send(buf, open_atom::value, std::string{"other"});
  exchange();
  CHECK(demand == 50);
  CHECK(other_demand == 50);
  push(buf, 0, {1}); // uses 1 of its 50, then ends
  self->send(buf, end_atom::value);
  exchange();
  // The 49 left unused are free again: `other` may now hold the whole
  // capacity. (They used to stay counted as outstanding forever; with a few
  // upstreams ending early, no credit was left and the pipeline stalled.)
  CHECK(other_demand == 100);
  other->send(buf, batch_message<int>{0, 0, std::vector<int>(100, 7)});
  exchange();
  CHECK(other_demand == 200);
  CHECK(received().size() == 101);
  CHECK(failures.empty());
}

TEST_CASE_METHOD(buffer_fixture,
                 "drop_oldest keeps the newest items of an overfilled buffer",
                 "[actors]") {
  auto buf = spawn_buffer(4, overflow_policy::drop_oldest);
  push(buf, 0, {1, 2, 3});
  push(buf, 1, {4, 5, 6});
  CHECK(probe->dropped == 2);
  grant(buf, 10);
  CHECK(received() == std::vector<int>{3, 4, 5, 6});
  CHECK(probe->high_water == 4);
  CHECK(failures.empty());
}

TEST_CASE_METHOD(buffer_fixture,
                 "drop_oldest drops the head of a batch larger than capacity",
                 "[actors]") {
  auto buf = spawn_buffer(4, overflow_policy::drop_oldest);
  push(buf, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  grant(buf, 10);
  CHECK(received() == std::vector<int>{7, 8, 9, 10});
  CHECK(probe->dropped == 6);
}

TEST_CASE_METHOD(buffer_fixture,
                 "drop_newest keeps the buffered items and drops arrivals",
                 "[actors]") {
  auto buf = spawn_buffer(4, overflow_policy::drop_newest);
  push(buf, 0, {1, 2, 3});
  push(buf, 1, {4, 5, 6});
  CHECK(probe->dropped == 2);
  grant(buf, 10);
  CHECK(received() == std::vector<int>{1, 2, 3, 4});
  // Room again: new arrivals are accepted.
  push(buf, 2, {7});
  grant(buf, 10);
  CHECK(received() == std::vector<int>{1, 2, 3, 4, 7});
  CHECK(probe->dropped == 2);
}

TEST_CASE_METHOD(buffer_fixture,
                 "the fail policy stops the stream with buffer_overflow",
                 "[actors]") {
  auto buf = spawn_buffer(4, overflow_policy::fail);
  push(buf, 0, {1, 2, 3, 4, 5});
  REQUIRE(failures.size() == 1);
  CHECK(is(failures[0], errc::buffer_overflow));
  CHECK(context_of(failures[0]).find("'buf'") != std::string::npos);
  CHECK(batches.empty());
}

TEST_CASE_METHOD(buffer_fixture,
                 "backpressure rejects an upstream exceeding its credit",
                 "[actors]") {
  auto buf = spawn_buffer(4, overflow_policy::backpressure);
  push(buf, 0, {1, 2, 3, 4, 5});
  REQUIRE(failures.size() == 1);
  CHECK(is(failures[0], errc::protocol_violation));
}

TEST_CASE_METHOD(buffer_fixture,
                 "a batch out of sequence is a protocol violation",
                 "[actors]") {
  auto buf = spawn_buffer(4, overflow_policy::backpressure);
  push(buf, 1, {1});
  REQUIRE(failures.size() == 1);
  CHECK(is(failures[0], errc::protocol_violation));
}

TEST_CASE_METHOD(buffer_fixture,
                 "a buffer forwards within credit and completes after the end",
                 "[actors]") {
  auto buf = spawn_buffer(4, overflow_policy::backpressure);
  push(buf, 0, {1, 2, 3, 4});
  CHECK(demand == 4); // no room: no new credit
  grant(buf, 2);
  CHECK(received() == std::vector<int>{1, 2});
  CHECK(demand == 6); // room for two more
  self->send(buf, end_atom::value);
  run();
  drain();
  CHECK_FALSE(done); // two items still wait for credit
  grant(buf, 5);
  CHECK(received() == std::vector<int>{1, 2, 3, 4});
  CHECK(done);
  CHECK(probe->high_water == 4);
}
