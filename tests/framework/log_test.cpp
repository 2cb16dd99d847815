#include "coactor/log.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include "support/deterministic.hpp"
#include "support/log_capture.hpp"

using namespace coactor;

namespace {

struct greeter_state {
  static inline const char* name = "greeter";
};

caf::behavior greeter(caf::stateful_actor<greeter_state>* self) {
  log::info(self, "hello {}", 42);
  log::debug(self, "quiet {}", 1);
  return {[self](int x) {
    log::warn(self, "got {}", x);
  }};
}

node_options captured(std::shared_ptr<testing::log_capture> sink,
                      log::level lvl) {
  auto opts = testing::deterministic_options();
  opts.name = "logtest";
  opts.log_level = lvl;
  opts.log_sink = std::move(sink);
  return opts;
}

} // namespace

TEST_CASE("log lines from an actor carry its name and id", "[framework]") {
  auto sink = std::make_shared<testing::log_capture>();
  testing::deterministic_fixture fx{captured(sink, log::level::info)};
  auto a = fx.spawn(greeter);
  fx.run();
  auto tag = "[greeter#" + std::to_string(a.id()) + "]";
  CHECK(sink->contains({"[logtest.actor]", tag, "hello 42"}));
  fx.self->send(a, 7);
  fx.run();
  CHECK(sink->contains({"warn", tag, "got 7"}));
}

TEST_CASE("lines below the node's level are not written", "[framework]") {
  auto sink = std::make_shared<testing::log_capture>();
  testing::deterministic_fixture fx{captured(sink, log::level::warn)};
  auto a = fx.spawn(greeter);
  fx.self->send(a, 1);
  fx.run();
  CHECK_FALSE(sink->contains({"hello"}));
  CHECK_FALSE(sink->contains({"quiet"}));
  CHECK(sink->contains({"got 1"}));
}

TEST_CASE("each node and component has its own logger", "[framework]") {
  auto sink_a = std::make_shared<testing::log_capture>();
  auto sink_b = std::make_shared<testing::log_capture>();
  testing::deterministic_fixture a{captured(sink_a, log::level::debug)};
  testing::deterministic_fixture b{captured(sink_b, log::level::error)};
  auto la = log::get(a.sys, "buffer");
  auto lb = log::get(b.sys, "buffer");
  CHECK(la != lb);
  CHECK(la->name() == "logtest.buffer");
  la->debug("visible");
  lb->debug("invisible");
  CHECK(sink_a->contains({"visible"}));
  CHECK(sink_b->lines().empty());
  CHECK(log::get(a.sys, "buffer") == la); // created once
}

TEST_CASE("log levels parse by name and reject unknown names", "[framework]") {
  CHECK(log::parse_level("trace") == log::level::trace);
  CHECK(log::parse_level("off") == log::level::off);
  CHECK(log::parse_level("warning") == log::level::warn);
  CHECK_FALSE(log::parse_level("verbose"));
  CHECK(log::to_string(log::level::critical) == "critical");
}

TEST_CASE("an actor system not made by a node gets a fallback logger",
          "[framework]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto lg = log::get(sys, "raw");
  CHECK(lg->name() == "coactor.raw");
}
