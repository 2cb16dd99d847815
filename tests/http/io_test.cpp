// Tests of coactor::io: the node's io_context and co_await of Asio
// operations, resumed in the awaiting actor, cancelled when the await ends.
#include "coactor/io.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/node.hpp"
#include "coactor/start.hpp"
#include "support/frame_counter.hpp"

using namespace std::chrono_literals;
using coactor::errc;
using coactor::task;
using coactor::testing::frame_counter;
namespace asio = boost::asio;
namespace io = coactor::io;

namespace {

using self_ptr = caf::event_based_actor*;

coactor::node make_node() {
  coactor::node_options opts;
  opts.threads = 2;
  opts.log_level = coactor::log::level::warn;
  auto n = coactor::node::create(opts);
  REQUIRE(n);
  return std::move(*n);
}

// What one timer wait saw; shared with the I/O thread and the test.
// Its timer belongs to the node's io_context and must be destroyed before
// the node stops (`handled` tells when the I/O thread is done with it).
struct timer_probe {
  explicit timer_probe(asio::io_context& ctx) : timer(std::in_place, ctx) {}
  std::optional<asio::steady_timer> timer;
  std::atomic<bool> cancelled{false};
  std::thread::id io_thread;
  std::thread::id resumed_on;
  std::promise<caf::expected<void>> result;
  std::promise<void> started; // set when the operation was initiated
  std::promise<void> handled; // set when the timer's handler has run
};

task<void> wait_timer(self_ptr self, std::shared_ptr<timer_probe> p,
                      std::chrono::milliseconds expiry,
                      std::chrono::milliseconds timeout) {
  frame_counter fc;
  p->timer->expires_after(expiry);
  auto init = [p](auto handler) {
    p->started.set_value();
    p->timer->async_wait([p, handler](boost::system::error_code ec) {
      p->io_thread = std::this_thread::get_id();
      handler(ec);
      p->handled.set_value();
    });
  };
  auto cancel = [p] {
    p->cancelled = true;
    asio::post(p->timer->get_executor(), [p] { p->timer->cancel(); });
  };
  auto r = co_await io::async_op<void>(self, timeout, init, cancel, "timer");
  p->resumed_on = std::this_thread::get_id();
  p->result.set_value(std::move(r));
}

caf::behavior timer_actor(self_ptr self, std::shared_ptr<timer_probe> p,
                          std::chrono::milliseconds expiry,
                          std::chrono::milliseconds timeout) {
  coactor::start(self, wait_timer(self, p, expiry, timeout));
  return {[](int) {
  }};
}

} // namespace

TEST_CASE("an awaited Asio timer resumes the task in its actor, not on the "
          "I/O thread",
          "[io]") {
  auto n = make_node();
  auto ctx = io::context(n);
  REQUIRE(ctx);
  auto p = std::make_shared<timer_probe>(**ctx);
  auto fut = p->result.get_future();
  n.spawn(timer_actor, p, 10ms, 5s);
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  CHECK(static_cast<bool>(fut.get()));
  CHECK_FALSE(p->cancelled);
  CHECK(p->io_thread != std::thread::id{});
  CHECK(p->resumed_on != p->io_thread);
  CHECK(io::threads_running(n.system()) == 1);
}

TEST_CASE("an Asio wait past its timeout yields errc::timeout and is "
          "cancelled",
          "[io]") {
  auto n = make_node();
  auto ctx = io::context(n);
  REQUIRE(ctx);
  auto p = std::make_shared<timer_probe>(**ctx);
  auto fut = p->result.get_future();
  n.spawn(timer_actor, p, 1h, 20ms);
  REQUIRE(fut.wait_for(10s) == std::future_status::ready);
  auto r = fut.get();
  REQUIRE_FALSE(r);
  CHECK(coactor::is(r.error(), errc::timeout));
  CHECK(p->cancelled);
}

TEST_CASE("an actor's exit cancels its pending I/O and destroys the frame",
          "[io]") {
  frame_counter::reset();
  auto n = make_node();
  auto ctx = io::context(n);
  REQUIRE(ctx);
  auto p = std::make_shared<timer_probe>(**ctx);
  auto started = p->started.get_future();
  auto a = n.spawn(timer_actor, p, 1h, 1h);
  REQUIRE(started.wait_for(10s) == std::future_status::ready);
  REQUIRE(frame_counter::live() == 1);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  REQUIRE(p->handled.get_future().wait_for(10s) == std::future_status::ready);
  p->timer.reset(); // before its io_context goes with the node
  auto report = n.stop(5s);
  CHECK(report.clean());
  CHECK(p->cancelled);
  CHECK(frame_counter::live() == 0);
}

TEST_CASE("io::context fails after the node stopped and maps Asio errors",
          "[io]") {
  auto n = make_node();
  n.stop();
  auto ctx = io::context(n);
  REQUIRE_FALSE(ctx);
  CHECK(coactor::is(ctx.error(), errc::node_stopped));
  auto e = io::to_error(asio::error::operation_aborted, "read");
  CHECK(coactor::is(e, errc::cancelled));
  CHECK(coactor::is(io::to_error(asio::error::connection_refused, "connect"),
                    errc::io_error));
  CHECK(coactor::context_of(e).starts_with("read: "));
}
