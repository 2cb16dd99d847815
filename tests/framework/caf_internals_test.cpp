// Tests of the CAF fence: each CAF 0.17.6 fact (F1..F7) that
// coactor/detail/caf_internals.hpp relies on, checked against the installed
// CAF, so that a CAF upgrade that changes one fails here first.
#include "coactor/detail/caf_internals.hpp"

#include <pthread.h>

#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/error.hpp"

using namespace coactor;

namespace {

/// What a probe handler saw; owned by the test, outlives the actors.
struct probe {
  int calls = 0;
  int destroyed = 0;
  bool rearm = false;
  caf::error last;
  caf::message_id rid;
  std::size_t deferred = 0;
  bool had_unit = false;
  int destroyed_before_exit = -1;
};

class probe_handler final : public detail::response_handler<probe_handler> {
 public:
  probe_handler(probe* p, caf::scheduled_actor* self) noexcept
      : p_(p), self_(self) {}

  probe_handler(const probe_handler&) = delete;
  probe_handler& operator=(const probe_handler&) = delete;

  ~probe_handler() override { ++p_->destroyed; }

  void on_response(caf::type_erased_tuple& xs) {
    ++p_->calls;
    if (xs.size() == 1 && xs.match_element<caf::error>(0))
      p_->last = xs.get_as<caf::error>(0);
    if (p_->rearm && p_->calls < 2)
      detail::add_response_handler(self_, p_->rid,
                                   caf::intrusive_ptr<probe_handler>{this});
  }

 private:
  probe* p_;
  caf::scheduled_actor* self_;
};

/// Registers a probe handler under a fresh response id of `self`.
void arm_probe(caf::scheduled_actor* self, probe* p) {
  p->rid = self->new_request_id(caf::message_priority::normal).response_id();
  detail::add_response_handler(self, p->rid,
                               caf::make_counted<probe_handler>(p, self));
}

/// An actor whose behaviour knows only `int`, with a probe armed.
caf::behavior probed(caf::event_based_actor* self, probe* p) {
  arm_probe(self, p);
  return {[](int) {
  }};
}

/// Sends `msg` under `p`'s response id from outside any actor.
void deliver(const caf::actor& hdl, const probe& p, std::string msg) {
  caf::actor_cast<caf::strong_actor_ptr>(hdl)->enqueue(
      caf::make_mailbox_element(nullptr, p.rid, {}, std::move(msg)), nullptr);
}

/// Kills `hdl` and runs the testing scheduler until idle.
void end(caf::actor_system& sys, const caf::actor& hdl) {
  caf::anon_send_exit(hdl, caf::exit_reason::kill);
  detail::run_testing_scheduler(sys);
}

/// Spawns a probed actor, delivers two strings under its id (the behaviour
/// knows only `int`), records the destructions so far, and kills it.
void deliver_two(caf::actor_system& sys, probe& p) {
  auto hdl = sys.spawn(probed, &p);
  detail::run_testing_scheduler(sys);
  deliver(hdl, p, "first");
  deliver(hdl, p, "second"); // dropped unless the handler registered again
  detail::run_testing_scheduler(sys);
  p.destroyed_before_exit = p.destroyed;
  end(sys, hdl);
}

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  return cfg;
}

struct fence_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{testing_config(cfg)};
};

} // namespace

TEST_CASE_METHOD(fence_fixture,
                 "F4: a system on the testing policy has a test_coordinator "
                 "that runs its messages",
                 "[framework]") {
  auto* expected
      = dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler());
  REQUIRE(expected != nullptr);
  CHECK(&detail::test_coordinator_of(sys) == expected);
  int got = 0;
  auto hdl = sys.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](int x) {
      got = x;
    }};
  });
  caf::anon_send(hdl, 7);
  CHECK(detail::run_testing_scheduler(sys) > 0);
  CHECK(got == 7);
  end(sys, hdl);
}

TEST_CASE_METHOD(fence_fixture,
                 "F1: a response handler runs for its id whatever the "
                 "behaviour, is erased before it runs, and sees the next "
                 "message only if it registered itself again",
                 "[framework]") {
  probe p;
  p.rearm = GENERATE(false, true);
  deliver_two(sys, p);
  CHECK(p.calls == (p.rearm ? 2 : 1));
  CHECK(p.destroyed_before_exit == 1); // released once it stopped rearming
}

TEST_CASE_METHOD(fence_fixture,
                 "F1: a response handler is destroyed without running when "
                 "its actor exits",
                 "[framework]") {
  probe p;
  auto hdl = sys.spawn(probed, &p);
  detail::run_testing_scheduler(sys);
  end(sys, hdl);
  CHECK(p.calls == 0);
  CHECK(p.destroyed == 1);
}

TEST_CASE_METHOD(fence_fixture,
                 "F2: an error posted to oneself under a pending response id "
                 "reaches that id's handler",
                 "[framework]") {
  probe p;
  auto hdl = sys.spawn([&p](caf::event_based_actor* self) -> caf::behavior {
    arm_probe(self, &p);
    return {[self, &p](int) {
      detail::post_to_self(self, p.rid, make_error(errc::cancelled));
      CHECK(p.calls == 0); // through the mailbox, never inline
    }};
  });
  detail::run_testing_scheduler(sys);
  caf::anon_send(hdl, 1);
  detail::run_testing_scheduler(sys);
  CHECK(p.calls == 1);
  CHECK(p.last == make_error(errc::cancelled));
  end(sys, hdl);
}

TEST_CASE_METHOD(fence_fixture,
                 "F3: a send schedules an idle receiver on the sender's "
                 "swapped execution unit",
                 "[framework]") {
  probe p;
  int received = 0;
  auto receiver = sys.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](int) {
      ++received;
    }};
  });
  auto sender = sys.spawn([&, receiver](caf::event_based_actor* self) {
    return caf::behavior{[&, self, receiver](int) {
      auto* real = detail::unit_of(self);
      p.had_unit = real != nullptr;
      if (real == nullptr)
        return;
      detail::deferring_unit unit{real, 4};
      detail::use_unit(self, &unit);
      self->send(receiver, 1);
      p.deferred = unit.deferred();
      detail::use_unit(self, real);
      unit.flush();
      CHECK(unit.deferred() == 0);
    }};
  });
  detail::run_testing_scheduler(sys); // both idle now
  caf::anon_send(sender, 1);
  detail::run_testing_scheduler(sys);
  CHECK(p.had_unit);
  CHECK(p.deferred == 1);
  CHECK(received == 1); // the flushed job really ran
  end(sys, sender);
  end(sys, receiver);
}

TEST_CASE_METHOD(fence_fixture,
                 "F5: a request to an actor that has exited bounces as "
                 "request_receiver_down under its response id",
                 "[framework]") {
  auto target = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](int x) {
      return x;
    }};
  });
  end(sys, target);
  probe p;
  auto requester
      = sys.spawn([&p, target](caf::event_based_actor* self) -> caf::behavior {
          auto req = self->new_request_id(caf::message_priority::normal);
          p.rid = req.response_id();
          detail::add_response_handler(
              self, p.rid, caf::make_counted<probe_handler>(&p, self));
          caf::actor_cast<caf::strong_actor_ptr>(target)->enqueue(
              caf::make_mailbox_element(self->ctrl(), req, {}, 1),
              self->context());
          return {[](int) {
          }};
        });
  detail::run_testing_scheduler(sys);
  CHECK(p.calls == 1);
  CHECK(p.last == caf::make_error(caf::sec::request_receiver_down));
  auto mapped = detail::map_reply_error(p.last, "ask");
  CHECK(mapped.category() == make_error(errc::target_down).category());
  CHECK(mapped.code() == make_error(errc::target_down).code());
  end(sys, requester);
}

TEST_CASE("F6: name_this_thread names the calling thread", "[framework]") {
  std::string name;
  std::thread t{[&name] {
    detail::name_this_thread("coactor.fence");
    char buf[16] = {};
    if (pthread_getname_np(pthread_self(), buf, sizeof(buf)) == 0)
      name = buf;
  }};
  t.join();
  CHECK(name == "coactor.fence");
}

TEST_CASE("F7: the middleman's BASP broker is one named broker",
          "[framework]") {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  auto first = detail::basp_broker_of(sys);
  auto second = detail::basp_broker_of(sys);
  REQUIRE(first);
  CHECK(first == second);
}
