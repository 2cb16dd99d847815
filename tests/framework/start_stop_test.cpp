// The start/stop example's monitor, tested deterministically: the test plays
// the legacy component's thread and calls its callback by hand.
#include "../../examples/callbacks/start_stop.hpp"

#include <memory>

#include <catch2/catch.hpp>

#include "support/deterministic.hpp"
#include "support/log_capture.hpp"

using namespace coactor;
using namespace start_stop;

namespace {

// A job source whose callback the test calls itself.
class manual_source final : public job_source {
 public:
  void start(callback cb) override { cb_ = std::move(cb); }
  void stop() override { ++stops; }
  bool stop_blocks() const override { return false; }

  void report(int job, caf::expected<int> outcome) {
    cb_(job, std::move(outcome));
  }

  int stops = 0;

 private:
  callback cb_;
};

node_options capturing_options(std::shared_ptr<testing::log_capture> cap) {
  auto opts = testing::deterministic_options();
  opts.log_sink = std::move(cap);
  return opts;
}

// Holds the capture so that it exists before the node is made.
struct capture_holder {
  std::shared_ptr<testing::log_capture> capture
      = std::make_shared<testing::log_capture>();
};

struct fixture : capture_holder, testing::deterministic_fixture {
  fixture() : testing::deterministic_fixture(capturing_options(capture)) {}
};

} // namespace

TEST_CASE_METHOD(fixture,
                 "the monitor counts outcomes and drops callbacks after stop",
                 "[framework]") {
  auto src = std::make_shared<manual_source>();
  auto mon = spawn(monitor, "sensor-A", src);
  self->send(mon, start_atom::value);
  run();
  src->report(1, 10);
  src->report(2, make_error(errc::unhandled_exception, "disk full"));
  src->report(3, 30);
  run();
  self->send(mon, summary_atom::value);
  run();
  CHECK(receive_now<summary>() == summary{2, 1, 0});
  // Stop: callbacks that come afterwards never reach the actor's state.
  self->send(mon, stop_atom::value);
  run();
  CHECK(receive_now<summary>() == summary{2, 1, 0});
  CHECK(src->stops == 1);
  src->report(4, 40);
  src->report(5, make_error(errc::unhandled_exception, "late failure"));
  run();
  self->send(mon, summary_atom::value);
  run();
  CHECK(receive_now<summary>() == summary{2, 1, 2});
}

TEST_CASE_METHOD(fixture, "a failing job is logged with its object and job id",
                 "[framework]") {
  auto src = std::make_shared<manual_source>();
  auto mon = spawn(monitor, "sensor-B", src);
  self->send(mon, start_atom::value);
  run();
  src->report(7, make_error(errc::unhandled_exception, "disk full"));
  run();
  CHECK(capture->contains(
      {"job_monitor#", "source 'sensor-B'", "job 7", "failed", "disk full"}));
}

TEST_CASE_METHOD(fixture, "the monitor answers once n outcomes arrived",
                 "[framework]") {
  auto src = std::make_shared<manual_source>();
  auto mon = spawn(monitor, "sensor-C", src);
  self->send(mon, start_atom::value);
  self->send(mon, wait_atom::value, uint64_t{2});
  run();
  CHECK_FALSE(receive_now<uint64_t>());
  src->report(1, 1);
  run();
  CHECK_FALSE(receive_now<uint64_t>());
  src->report(2, 4);
  run();
  CHECK(receive_now<uint64_t>() == uint64_t{2});
}
