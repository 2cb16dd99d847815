// Tests of coactor::metrics: the registry's families and series, name
// checks, collectors, and the Prometheus text exposition (escaping, HELP and
// TYPE lines, cumulative histogram buckets).
#include "coactor/metrics.hpp"

#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/ask.hpp"
#include "coactor/node.hpp"
#include "coactor/start.hpp"
#include "coactor/when_all.hpp"

namespace metrics = coactor::metrics;

namespace {

template <class T>
T* must(caf::expected<T*> x) {
  REQUIRE(x);
  return *x;
}

using namespace std::chrono_literals;

caf::behavior echo() {
  return {[](int x) {
    return x;
  }};
}

// 17 asks: 12 single ones (one to a dead actor, one with a zero timeout)
// and 5 in two gathers (three distinct targets under one request id, two
// to one target with an id each). Reports how many replies were right.
coactor::task<int> seventeen_asks(caf::event_based_actor* self,
                                  std::vector<caf::actor> echoes,
                                  caf::actor dead) {
  int ok = 0;
  for (int i = 0; i < 10; ++i)
    if (auto r = co_await coactor::ask<int>(self, echoes[0], 1s, i); r == i)
      ++ok;
  if (auto r = co_await coactor::ask<int>(self, dead, 1s, 1);
      !r && is(r.error(), coactor::errc::target_down))
    ++ok;
  // The timeout is posted before the request goes out: it wins.
  if (auto r = co_await coactor::ask<int>(self, echoes[0], 0ns, 1);
      !r && is(r.error(), coactor::errc::timeout))
    ++ok;
  for (auto& targets :
       {echoes, std::vector<caf::actor>{echoes[0], echoes[0]}}) {
    std::vector<coactor::ask_awaitable<int, int>> asks;
    for (auto& t : targets)
      asks.push_back(coactor::ask<int>(self, t, 1s, 7));
    for (auto& r : co_await coactor::gather(std::move(asks)))
      if (r == 7)
        ++ok;
  }
  co_return ok;
}

// Runs `seventeen_asks` on `n` and returns its count of right replies.
int run_seventeen_asks(coactor::node& n) {
  std::vector<caf::actor> echoes;
  for (int i = 0; i < 3; ++i)
    echoes.push_back(n.spawn(echo));
  auto dead = n.spawn(echo);
  {
    caf::scoped_actor waiter{n.system()};
    waiter->send_exit(dead, caf::exit_reason::user_shutdown);
    waiter->wait_for(dead);
  }
  std::promise<int> result;
  n.spawn([&](caf::event_based_actor* self) {
    coactor::start(
        self, seventeen_asks(self, echoes, dead),
        [&](caf::expected<int> x) { result.set_value(x ? *x : -1); });
  });
  auto f = result.get_future();
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  return f.get();
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("a counter family hands out one series per list of label values",
          "[framework][metrics]") {
  metrics::registry reg;
  auto* fam = must(reg.add_counter("jobs_total", "Jobs done.", {"queue"}));
  auto* a = must(fam->get({"a"}));
  auto* b = must(fam->get({"b"}));
  CHECK(a != b);
  CHECK(must(fam->get({"a"})) == a);
  a->inc();
  a->inc(2);
  b->add_owned(5);
  CHECK(a->value() == 3);
  CHECK(b->value() == 5);
  // Registering again with the same shape returns the same family.
  CHECK(must(reg.add_counter("jobs_total", "Jobs done.", {"queue"})) == fam);
}

TEST_CASE("the registry refuses bad names and conflicting registrations",
          "[framework][metrics]") {
  metrics::registry reg;
  CHECK_FALSE(reg.add_counter("jobs", "no _total suffix"));
  CHECK_FALSE(reg.add_counter("1jobs_total", "starts with a digit"));
  CHECK_FALSE(reg.add_gauge("a-b", "dash"));
  CHECK_FALSE(reg.add_gauge("g", "bad label", {"__reserved"}));
  CHECK_FALSE(reg.add_gauge("g", "bad label", {"a b"}));
  CHECK_FALSE(reg.add_gauge("g", "twice", {"x", "x"}));
  CHECK_FALSE(reg.add_histogram("h", "le is reserved", {"le"}, {1}));
  CHECK_FALSE(reg.add_histogram("h", "not increasing", {}, {2, 1}));
  CHECK_FALSE(reg.add_histogram("h", "infinite", {},
                                {1, std::numeric_limits<double>::infinity()}));
  REQUIRE(reg.add_gauge("taken", "a gauge", {"x"}));
  CHECK_FALSE(reg.add_gauge("taken", "other labels", {"y"}));
  CHECK_FALSE(reg.add_counter("taken", "a gauge's name, not _total"));
  auto g = reg.add_gauge("taken", "a gauge", {"x"});
  REQUIRE(g);
  auto wrong = (*g)->get({"1", "2"});
  REQUIRE_FALSE(wrong);
  CHECK(coactor::context_of(wrong.error()).find("expected 1 label values")
        != std::string::npos);
}

TEST_CASE("the exposition has HELP and TYPE lines and escaped text",
          "[framework][metrics]") {
  metrics::registry reg;
  auto* c = must(reg.add_counter("requests_total",
                                 "Requests; a \\ backslash\nand a \"quote\".",
                                 {"path", "code"}));
  must(c->get({"a\\b \"q\"\nz", "200"}))->inc(7);
  auto* g = must(reg.add_gauge("temperature_celsius", "Heat."));
  must(g->get({}))->set(-1.5);
  auto text = reg.to_prometheus();
  CHECK(text
        == "# HELP requests_total Requests; a \\\\ backslash\\nand a "
           "\"quote\".\n"
           "# TYPE requests_total counter\n"
           "requests_total{path=\"a\\\\b \\\"q\\\"\\nz\",code=\"200\"} 7\n"
           "# HELP temperature_celsius Heat.\n"
           "# TYPE temperature_celsius gauge\n"
           "temperature_celsius -1.5\n");
}

TEST_CASE("gauges print special values as Prometheus spells them",
          "[framework][metrics]") {
  metrics::registry reg;
  auto* g = must(reg.add_gauge("g", "G.", {"v"}));
  must(g->get({"nan"}))->set(std::nan(""));
  must(g->get({"inf"}))->set(std::numeric_limits<double>::infinity());
  must(g->get({"ninf"}))->set(-std::numeric_limits<double>::infinity());
  must(g->get({"big"}))->set(1e21);
  auto text = reg.to_prometheus();
  CHECK(text.find("g{v=\"nan\"} NaN\n") != std::string::npos);
  CHECK(text.find("g{v=\"inf\"} +Inf\n") != std::string::npos);
  CHECK(text.find("g{v=\"ninf\"} -Inf\n") != std::string::npos);
  CHECK(text.find("g{v=\"big\"} 1e+21\n") != std::string::npos);
}

TEST_CASE("histogram buckets are cumulative, end in +Inf and match _count",
          "[framework][metrics]") {
  metrics::registry reg;
  auto* fam = must(
      reg.add_histogram("latency_seconds", "Latency.", {"op"}, {0.1, 0.5, 1}));
  auto* h = must(fam->get({"get"}));
  for (double x : {0.05, 0.1, 0.3, 0.7, 2.0, 3.0})
    h->observe(x);
  h->observe_owned(0.5); // on a bound: counts in that bucket (le)
  auto text = reg.to_prometheus();
  CHECK(text
        == "# HELP latency_seconds Latency.\n"
           "# TYPE latency_seconds histogram\n"
           "latency_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
           "latency_seconds_bucket{op=\"get\",le=\"0.5\"} 4\n"
           "latency_seconds_bucket{op=\"get\",le=\"1\"} 5\n"
           "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 7\n"
           "latency_seconds_sum{op=\"get\"} 6.65\n"
           "latency_seconds_count{op=\"get\"} 7\n");
}

TEST_CASE("a histogram without labels still names its bucket bound",
          "[framework][metrics]") {
  metrics::registry reg;
  auto* fam = must(reg.add_histogram("size_bytes", "Sizes.", {}, {}));
  must(fam->get({}))->observe(10);
  auto text = reg.to_prometheus();
  CHECK(text.find("size_bytes_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
  CHECK(text.find("size_bytes_count 1\n") != std::string::npos);
}

TEST_CASE("collectors run before each exposition and stop when released",
          "[framework][metrics]") {
  metrics::registry reg;
  auto* g = must(must(reg.add_gauge("calls", "Collector runs."))->get({}));
  int runs = 0;
  {
    auto handle = reg.add_collector([&] { g->set(++runs); });
    CHECK(reg.to_prometheus().find("calls 1\n") != std::string::npos);
    CHECK(reg.to_prometheus().find("calls 2\n") != std::string::npos);
  }
  CHECK(reg.to_prometheus().find("calls 2\n") != std::string::npos);
  auto last = reg.add_collector([&] { g->set(++runs * 10); });
  last.finish(); // one final run
  CHECK(runs == 3);
  CHECK(reg.to_prometheus().find("calls 30\n") != std::string::npos);
}

TEST_CASE("owned counters written by one thread are exact when read later",
          "[framework][metrics]") {
  metrics::registry reg;
  auto* fam = must(reg.add_counter("items_total", "Items.", {"t"}));
  auto* shared = must(fam->get({"shared"}));
  std::vector<std::thread> threads;
  std::vector<metrics::counter*> owned;
  for (int i = 0; i < 4; ++i)
    owned.push_back(must(fam->get({std::to_string(i)})));
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 100'000; ++k) {
        owned[i]->add_owned();
        shared->inc();
      }
    });
  for (auto& t : threads)
    t.join();
  for (auto* c : owned)
    CHECK(c->value() == 100'000);
  CHECK(shared->value() == 400'000);
}

TEST_CASE("a node has a registry with its built-in metrics",
          "[framework][metrics]") {
  coactor::node_options opts;
  opts.name = "metered";
  opts.threads = 3;
  opts.log_level = coactor::log::level::error;
  auto n = coactor::node::create(opts);
  REQUIRE(n);
  auto text = metrics::of(*n).to_prometheus();
  CHECK(text.find("coactor_node_info{node=\"metered\"} 1\n")
        != std::string::npos);
  CHECK(text.find("coactor_node_scheduler_threads 3\n") != std::string::npos);
  CHECK(text.find("# TYPE coactor_node_uptime_seconds gauge\n")
        != std::string::npos);
  CHECK(metrics::of(n->system()) == &metrics::of(*n));
  CHECK_FALSE(metrics::endpoint_port(*n)); // no metrics_port
}

TEST_CASE("metrics-port is read from the command line and checked",
          "[framework][metrics]") {
  const char* ok[] = {"--metrics-port", "9100"};
  auto opts = coactor::node_options::from_args(ok);
  REQUIRE(opts);
  CHECK(opts->metrics_port == 9100);
  const char* bad[] = {"--metrics-port=70000"};
  auto err = coactor::node_options::from_args(bad);
  REQUIRE_FALSE(err);
  CHECK(coactor::context_of(err.error()).find("metrics-port")
        != std::string::npos);
}

TEST_CASE("asks are counted with their errors and latency",
          "[framework][metrics]") {
  coactor::node_options opts;
  opts.log_level = coactor::log::level::error;
  auto n = coactor::node::create(opts);
  REQUIRE(n);
  REQUIRE(run_seventeen_asks(*n) == 17);
  auto text = metrics::of(*n).to_prometheus();
  INFO(text);
  CHECK(has_line(text, "coactor_asks_total 17"));
  CHECK(has_line(text, "coactor_ask_errors_total{error=\"target_down\"} 1"));
  CHECK(has_line(text, "coactor_ask_errors_total{error=\"timeout\"} 1"));
  CHECK(text.find("coactor_ask_errors_total{error=\"cancelled\"}")
        == std::string::npos);
  CHECK(has_line(text, "coactor_ask_duration_seconds_count 17"));
  CHECK(has_line(text, "coactor_ask_duration_seconds_bucket{le=\"+Inf\"} 17"));
  // Counted once: a second exposition adds nothing.
  CHECK(has_line(metrics::of(*n).to_prometheus(), "coactor_asks_total 17"));
}

TEST_CASE("with metrics off, asks are not counted", "[framework][metrics]") {
  coactor::node_options opts;
  opts.log_level = coactor::log::level::error;
  opts.metrics = false;
  auto n = coactor::node::create(opts);
  REQUIRE(n);
  REQUIRE(run_seventeen_asks(*n) == 17);
  auto text = metrics::of(*n).to_prometheus();
  CHECK(text.find("coactor_ask") == std::string::npos);
  CHECK(text.find("coactor_node_info") != std::string::npos);
}
