// Supervisors: restart strategies, restart policies, intensity and
// escalation, names across restarts, ordered shutdown. Deterministic (virtual
// time) except the last test, which runs on real threads.
#include "coactor/supervisor.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "coactor/ask.hpp"
#include "coactor/error.hpp"
#include "coactor/sleep.hpp"
#include "coactor/start.hpp"
#include "coactor/task.hpp"
#include "support/deterministic.hpp"
#include "support/frame_counter.hpp"
#include "support/log_capture.hpp"

using namespace coactor;
using namespace coactor::supervision;
using namespace std::chrono_literals;
using coactor::testing::frame_counter;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

// What the children did, in order: "start a", "end a", ...
struct journal {
  std::mutex mtx;
  std::vector<std::string> events;
  int starts = 0;
  // Whether children record "stop NAME" when asked to stop, before they end
  // (and so before their supervisor learns that they ended).
  bool record_stops = false;

  void add(std::string x) {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(std::move(x));
  }
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> guard{mtx};
    return std::exchange(events, {});
  }
};

using journal_ptr = std::shared_ptr<journal>;

// A child: doubles ints, throws on `crash`, ends normally on `done`. With
// `stubborn`, it ignores a shutdown request (only a kill ends it).
caf::behavior worker(caf::event_based_actor* self, std::string name,
                     journal_ptr j, bool stubborn) {
  j->add("start " + name);
  self->attach_functor([j, name] { j->add("end " + name); });
  if (stubborn)
    self->set_exit_handler([](caf::exit_msg&) {});
  else if (j->record_stops)
    self->set_exit_handler([self, j, name](caf::exit_msg& msg) {
      j->add("stop " + name);
      self->quit(msg.reason);
    });
  return {
      [](int x) { return x * 2; },
      [](crash_atom) { throw std::runtime_error("boom"); },
      [self](done_atom) { self->quit(); },
  };
}

child_spec spec(std::string name, journal_ptr j,
                restart policy = restart::permanent, bool stubborn = false) {
  child_spec c;
  c.name = name;
  c.policy = policy;
  c.start = [name, j, stubborn](caf::actor_system& sys) {
    ++j->starts;
    return sys.spawn(worker, name, j, stubborn);
  };
  return c;
}

std::vector<child_spec> abc(const journal_ptr& j) {
  return {spec("a", j), spec("b", j), spec("c", j)};
}

supervisor_options with(strategy s, size_t intensity = 3) {
  supervisor_options opts;
  opts.name = "sup";
  opts.strategy = s;
  opts.intensity = intensity;
  opts.period = 5s;
  return opts;
}

// A deterministic fixture with helpers for asking and looking up.
struct fixture : testing::deterministic_fixture {
  explicit fixture(node_options opts = testing::deterministic_options())
      : deterministic_fixture(std::move(opts)) {}

  caf::actor start(supervisor_options opts, std::vector<child_spec> cs) {
    auto sup = spawn_supervisor(node(), std::move(opts), std::move(cs));
    REQUIRE(sup);
    run();
    return *sup;
  }

  // Sends `xs` to `whom` and runs until idle; returns the answer (CAF sends
  // the result of a handler for a plain message back as a plain message, so
  // a missing answer shows as `errc::timeout` instead of blocking).
  template <class T, class... Ts>
  caf::expected<T> ask_now(const caf::actor& whom, Ts... xs) {
    caf::expected<T> result{caf::sec::none};
    self->send(whom, xs...);
    run();
    self->receive(
        [&](T& x) { result = std::move(x); },
        [&](caf::error& err) { result = std::move(err); },
        caf::after(0s) >>
            [&] { result = make_error(errc::timeout, "no reply yet"); });
    return result;
  }

  caf::actor lookup(const caf::actor& sup, const std::string& name) {
    auto hdl = ask_now<caf::actor>(sup, caf::get_atom::value, name);
    INFO("lookup '" << name << "': "
                    << (hdl ? std::string{"ok"} : describe(hdl.error())));
    REQUIRE(hdl);
    return *hdl;
  }

  void crash(const caf::actor& whom) {
    caf::anon_send(whom, crash_atom::value);
    run();
  }

  // Returns the supervisor's exit reason once it is down, or nullopt.
  std::optional<caf::error> down_reason() {
    std::optional<caf::error> reason;
    self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                  caf::after(0s) >> [] {});
    return reason;
  }
};

bool is_restart_limit(const caf::error& x) {
  return is(x, errc::restart_limit);
}

} // namespace

TEST_CASE_METHOD(fixture,
                 "one_for_one restarts only the failed child, under its name",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto sup = start(with(strategy::one_for_one), abc(j));
  auto a = lookup(sup, "a");
  auto b = lookup(sup, "b");
  auto c = lookup(sup, "c");
  CHECK(j->take() == std::vector<std::string>{"start a", "start b", "start c"});
  crash(b);
  CHECK(j->take() == std::vector<std::string>{"end b", "start b"});
  CHECK(lookup(sup, "a") == a);
  CHECK(lookup(sup, "c") == c);
  auto b2 = lookup(sup, "b");
  CHECK(b2 != b);
  CHECK(ask_now<int>(b2, 21) == 42);
  // A request to the old handle gets an error at once, never silence.
  caf::error old;
  self->request(b, caf::infinite, 21)
      .receive([](int) {}, [&](caf::error& err) { old = err; });
  CHECK(old == caf::sec::request_receiver_down);
  auto st = ask_now<std::vector<child_status>>(sup, caf::get_atom::value);
  REQUIRE(st);
  REQUIRE(st->size() == 3);
  CHECK((*st)[1].name == "b");
  CHECK((*st)[1].restarts == 1);
  CHECK((*st)[0].restarts == 0);
}

TEST_CASE("every restart is logged with the exit reason", "[supervision]") {
  auto sink = std::make_shared<testing::log_capture>();
  auto opts = testing::deterministic_options();
  opts.log_sink = sink;
  fixture fx{opts};
  auto j = std::make_shared<journal>();
  auto sup = fx.start(with(strategy::one_for_one), abc(j));
  fx.crash(fx.lookup(sup, "b"));
  CHECK(sink->contains(
      {"supervisor 'sup'", "child 'b'", "caf::runtime_error", "restarting"}));
}

TEST_CASE_METHOD(
    fixture,
    "one_for_all stops the others last first, then starts all in order",
    "[supervision]") {
  auto j = std::make_shared<journal>();
  auto sup = start(with(strategy::one_for_all), abc(j));
  auto a = lookup(sup, "a");
  j->take();
  crash(lookup(sup, "b"));
  CHECK(j->take()
        == std::vector<std::string>{"end b", "end c", "end a", "start a",
                                    "start b", "start c"});
  CHECK(lookup(sup, "a") != a);
}

TEST_CASE_METHOD(fixture,
                 "rest_for_one restarts the failed child and those after it",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto sup = start(with(strategy::rest_for_one), abc(j));
  auto a = lookup(sup, "a");
  j->take();
  crash(lookup(sup, "b"));
  CHECK(j->take()
        == std::vector<std::string>{"end b", "end c", "start b", "start c"});
  CHECK(lookup(sup, "a") == a);
}

TEST_CASE_METHOD(fixture,
                 "transient and temporary children follow their policy",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto sup
      = start(with(strategy::one_for_one), {spec("t", j, restart::transient),
                                            spec("tmp", j, restart::temporary),
                                            spec("t2", j, restart::transient)});
  j->take();
  // A transient child that fails is restarted; one that ends normally is not.
  crash(lookup(sup, "t"));
  CHECK(j->take() == std::vector<std::string>{"end t", "start t"});
  caf::anon_send(lookup(sup, "t2"), done_atom::value);
  run();
  CHECK(j->take() == std::vector<std::string>{"end t2"});
  auto gone = ask_now<caf::actor>(sup, caf::get_atom::value, std::string{"t2"});
  REQUIRE_FALSE(gone);
  CHECK(is(gone.error(), errc::name_not_found));
  // A temporary child is never restarted.
  crash(lookup(sup, "tmp"));
  CHECK(j->take() == std::vector<std::string>{"end tmp"});
  auto unknown
      = ask_now<caf::actor>(sup, caf::get_atom::value, std::string{"x"});
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::name_not_found));
}

TEST_CASE_METHOD(fixture,
                 "too many restarts make the supervisor fail, without a loop",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto sup = start(with(strategy::one_for_one, 2), abc(j));
  self->monitor(sup);
  crash(lookup(sup, "b"));
  crash(lookup(sup, "b"));
  CHECK_FALSE(down_reason());
  crash(lookup(sup, "b"));
  auto reason = down_reason();
  REQUIRE(reason);
  CHECK(is_restart_limit(*reason));
  CHECK_THAT(describe(*reason), Catch::Contains("child 'b'"));
  CHECK(j->starts == 3 + 2);
  // Every child ended with the supervisor, last first.
  auto events = j->take();
  REQUIRE(events.size() >= 3);
  CHECK(std::vector<std::string>(events.end() - 3, events.end())
        == std::vector<std::string>{"end b", "end c", "end a"});
}

TEST_CASE_METHOD(fixture, "restarts older than the period do not count",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto sup = start(with(strategy::one_for_one, 1), abc(j));
  self->monitor(sup);
  for (int i = 0; i < 4; ++i) {
    crash(lookup(sup, "a"));
    advance(6s);
  }
  CHECK_FALSE(down_reason());
  CHECK(j->starts == 3 + 4);
}

TEST_CASE_METHOD(fixture,
                 "a failing nested supervisor is restarted by its parent",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  child_spec inner;
  inner.name = "inner";
  inner.start = [j](caf::actor_system& sys) {
    auto opts = with(strategy::one_for_one, 0);
    opts.name = "inner";
    auto sup = spawn_supervisor(sys, opts, {spec("w", j)});
    return sup ? *sup : caf::actor{};
  };
  auto outer = start(with(strategy::one_for_one), {inner});
  auto in1 = lookup(outer, "inner");
  auto w1 = lookup(in1, "w");
  j->take();
  crash(w1); // intensity 0: the inner supervisor gives up at once
  CHECK(j->take() == std::vector<std::string>{"end w", "start w"});
  auto in2 = lookup(outer, "inner");
  CHECK(in2 != in1);
  auto w2 = lookup(in2, "w");
  CHECK(ask_now<int>(w2, 5) == 10);
}

TEST_CASE_METHOD(
    fixture, "a shutdown stops children last first and kills a stubborn one",
    "[supervision]") {
  auto j = std::make_shared<journal>();
  auto cs = abc(j);
  cs[1] = spec("b", j, restart::permanent, true);
  cs[1].shutdown = 2s;
  auto sup = start(with(strategy::one_for_one), cs);
  self->monitor(sup);
  j->take();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  // c ended; b ignores the request until its shutdown time is over.
  CHECK(j->take() == std::vector<std::string>{"end c"});
  CHECK_FALSE(down_reason());
  advance(2s);
  CHECK(j->take() == std::vector<std::string>{"end b", "end a"});
  auto reason = down_reason();
  REQUIRE(reason);
  CHECK(*reason == caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "a lookup during a restart waits for the new child",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto cs = abc(j);
  cs[2] = spec("c", j, restart::permanent, true);
  cs[2].shutdown = 1s;
  auto sup = start(with(strategy::one_for_all), cs);
  auto a = lookup(sup, "a");
  crash(a); // c is stopped first and takes its full second
  auto early = ask_now<caf::actor>(sup, caf::get_atom::value, std::string{"a"});
  REQUIRE_FALSE(early);
  CHECK(is(early.error(), errc::timeout)); // no reply yet: it waits
  advance(1s);
  caf::actor a2;
  self->receive([&](caf::actor& x) { a2 = x; }, caf::after(0s) >> [] {});
  CHECK(a2);
  CHECK(a2 != a);
  CHECK(ask_now<int>(a2, 1) == 2);
}

namespace {

// What `use_children` found: one child asked through its name, one unknown.
struct found {
  caf::expected<int> doubled{caf::sec::none};
  caf::error unknown;
  bool done = false;
};

task<void> use_children(caf::event_based_actor* self, caf::actor sup,
                        std::shared_ptr<found> out) {
  auto b = co_await child(self, sup, "b", 1s);
  if (b)
    out->doubled = co_await ask<int>(self, *b, 1s, 21);
  else
    out->doubled = std::move(b.error());
  auto nobody = co_await child(self, sup, "nobody", 1s);
  out->unknown = nobody ? caf::error{} : std::move(nobody.error());
  out->done = true;
}

} // namespace

TEST_CASE_METHOD(fixture, "an actor task finds a child by name",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto sup = start(with(strategy::one_for_one), abc(j));
  auto out = std::make_shared<found>();
  node().system().spawn([sup, out](caf::event_based_actor* self) {
    coactor::start(self, use_children(self, sup, out));
    return caf::behavior{[](done_atom) {
    }};
  });
  run();
  REQUIRE(out->done);
  CHECK(out->doubled == 42);
  CHECK(is(out->unknown, errc::name_not_found));
  CHECK_THAT(describe(out->unknown), Catch::Contains("'nobody'"));
}

namespace {

task<void> sleeper(caf::event_based_actor* self) {
  frame_counter fc;
  co_await coactor::sleep(self, 1h);
}

caf::behavior sleeping_worker(caf::event_based_actor* self) {
  coactor::start(self, sleeper(self));
  return {[](crash_atom) {
    throw std::runtime_error("boom");
  }};
}

} // namespace

TEST_CASE_METHOD(fixture, "a crashed child's coroutine frames are destroyed",
                 "[supervision]") {
  frame_counter::reset();
  child_spec c;
  c.name = "s";
  c.start = [](caf::actor_system& sys) {
    return sys.spawn(sleeping_worker);
  };
  auto sup = start(with(strategy::one_for_one), {c});
  CHECK(frame_counter::live() == 1);
  crash(lookup(sup, "s"));
  CHECK(frame_counter::created() == 2);
  CHECK(frame_counter::live() == 1);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  CHECK(frame_counter::live() == 0);
}

TEST_CASE_METHOD(fixture, "bad specs and failing starts are reported",
                 "[supervision]") {
  auto j = std::make_shared<journal>();
  auto dup = spawn_supervisor(node(), with(strategy::one_for_one),
                              {spec("a", j), spec("a", j)});
  REQUIRE_FALSE(dup);
  CHECK(is(dup.error(), errc::invalid_argument));
  CHECK_THAT(describe(dup.error()),
             Catch::Contains("two children are named 'a'"));
  child_spec none;
  none.name = "n";
  auto no_start = spawn_supervisor(node(), with(strategy::one_for_one), {none});
  REQUIRE_FALSE(no_start);
  CHECK_THAT(describe(no_start.error()), Catch::Contains("'n' has no start"));
  CHECK(j->starts == 0);
  child_spec bad;
  bad.name = "bad";
  bad.start = [](caf::actor_system&) -> caf::actor {
    throw std::runtime_error("no disk");
  };
  auto failed = spawn_supervisor(node(), with(strategy::one_for_one),
                                 {spec("a", j), bad});
  REQUIRE_FALSE(failed);
  CHECK(is(failed.error(), errc::start_failed));
  CHECK_THAT(describe(failed.error()), Catch::Contains("'bad'"));
  CHECK_THAT(describe(failed.error()), Catch::Contains("no disk"));
  run();
  CHECK(j->take() == std::vector<std::string>{"start a", "end a"});
}

TEST_CASE_METHOD(
    fixture, "a child that cannot be restarted counts against the intensity",
    "[supervision]") {
  auto j = std::make_shared<journal>();
  child_spec flaky = spec("f", j);
  flaky.start = [j](caf::actor_system& sys) {
    if (++j->starts > 1)
      return caf::actor{};
    return sys.spawn(worker, std::string{"f"}, j, false);
  };
  auto sup = start(with(strategy::one_for_one, 3), {flaky});
  self->monitor(sup);
  crash(lookup(sup, "f"));
  auto reason = down_reason();
  REQUIRE(reason);
  CHECK(is_restart_limit(*reason));
  CHECK(j->starts == 1 + 3);
}

TEST_CASE("on real threads a restarted child is found and the node stops clean",
          "[supervision]") {
  node_options opts;
  opts.name = "supreal";
  opts.threads = 2;
  opts.log_level = log::level::error;
  auto n = testing::make_node(opts);
  auto j = std::make_shared<journal>();
  j->record_stops = true;
  auto sup = spawn_supervisor(n, with(strategy::one_for_one), abc(j));
  REQUIRE(sup);
  auto b = supervision::child(n, *sup, "b");
  REQUIRE(b);
  caf::anon_send(*b, crash_atom::value);
  // The lookup waits while b restarts, or finds the new one; poll until the
  // answer is a new actor (each lookup is a round trip, no sleep needed).
  caf::expected<caf::actor> b2 = *b;
  for (int i = 0; i < 10000 && b2 && *b2 == *b; ++i)
    b2 = supervision::child(n, *sup, "b");
  REQUIRE(b2);
  CHECK(*b2 != *b);
  auto st = supervision::children(n, *sup);
  REQUIRE(st);
  CHECK((*st)[1].restarts == 1);
  auto report = n.stop(5s);
  CHECK(report.clean());
  // Each "end" is recorded by the ending actor's own thread, racing with
  // its supervisor; a "stop" is recorded before the child ends.
  std::vector<std::string> stops;
  for (auto& x : j->take())
    if (x.rfind("stop ", 0) == 0)
      stops.push_back(x);
  CHECK(stops == std::vector<std::string>{"stop c", "stop b", "stop a"});
}
