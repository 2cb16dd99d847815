// Benchmark of the coroutine adapter (issue 3) against raw CAF in the same
// run: ping-pong round trips/s (co_await ask vs request().then()), gather
// over 10,000 actors in replies/s (when_all vs a fan-out with a counter),
// under the balanced (node default), sharing and stealing schedulers, the
// CPU an idle node burns under each, and the memory of suspended tasks.
// `bench_coroutines memory` runs the memory part only.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <coactor/coroutines.hpp>
#include <coactor/node.hpp>

#include "memory.hpp"
#include "stats.hpp"

using coactor::bench::heap_bytes;
using coactor::bench::median;
using coactor::bench::rss_bytes;
using coactor::bench::settled_heap;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto forever = caf::timespan::max();

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

caf::behavior echo() {
  return {[](int x) {
    return x;
  }};
}

// -- ping-pong ----------------------------------------------------------------

coactor::task<int> co_ping(caf::event_based_actor* self, caf::actor pong,
                           int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) {
    auto r = co_await coactor::ask<int>(self, pong, forever, i);
    if (!r)
      co_return r.error();
    sum += *r & 1;
  }
  co_return sum;
}

caf::behavior co_pinger(caf::event_based_actor* self, caf::actor pong, int n,
                        std::promise<double>* done) {
  auto t0 = clock_type::now();
  coactor::start(self, co_ping(self, pong, n), [=](caf::expected<int>) {
    done->set_value(seconds_since(t0));
  });
  return {};
}

void raw_step(caf::event_based_actor* self, caf::actor pong, int i, int n,
              clock_type::time_point t0, std::promise<double>* done) {
  if (i == n) {
    done->set_value(seconds_since(t0));
    return;
  }
  self->request(pong, caf::infinite, i).then([=](int) {
    raw_step(self, pong, i + 1, n, t0, done);
  });
}

caf::behavior raw_pinger(caf::event_based_actor* self, caf::actor pong, int n,
                         std::promise<double>* done) {
  raw_step(self, pong, 0, n, clock_type::now(), done);
  return {};
}

template <class F>
double run_ping(coactor::node& nd, F pinger, int n) {
  auto pong = nd.spawn(echo);
  std::promise<double> done;
  auto fut = done.get_future();
  nd.spawn(pinger, pong, n, &done);
  return n / fut.get();
}

// -- gather over many actors --------------------------------------------------

// Each round asks every target once, `window` asks in flight at a time.
coactor::task<int> co_gather(caf::event_based_actor* self,
                             std::vector<caf::actor> targets, int rounds,
                             std::size_t window) {
  int ok = 0;
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t first = 0; first < targets.size(); first += window) {
      auto last = std::min(targets.size(), first + window);
      std::vector<coactor::ask_awaitable<int, int>> asks;
      asks.reserve(last - first);
      for (auto i = first; i < last; ++i)
        asks.push_back(coactor::ask<int>(self, targets[i], forever, r));
      auto rs = co_await coactor::gather(std::move(asks));
      for (auto& x : rs)
        ok += x ? 1 : 0;
    }
  }
  co_return ok;
}

caf::behavior co_gatherer(caf::event_based_actor* self,
                          std::vector<caf::actor> targets, int rounds,
                          std::size_t window, std::promise<double>* done) {
  auto t0 = clock_type::now();
  coactor::start(
      self, co_gather(self, std::move(targets), rounds, window),
      [=](caf::expected<int>) { done->set_value(seconds_since(t0)); });
  return {};
}

struct fan_state {
  std::vector<caf::actor> targets;
  int rounds;
  std::size_t window;
  int round = 0;
  std::size_t first = 0;
  std::size_t remaining = 0;
  clock_type::time_point t0;
  std::promise<double>* done;
};

void raw_round(caf::event_based_actor* self, std::shared_ptr<fan_state> st) {
  if (st->first >= st->targets.size()) {
    st->first = 0;
    ++st->round;
  }
  if (st->round == st->rounds) {
    st->done->set_value(seconds_since(st->t0));
    return;
  }
  auto last = std::min(st->targets.size(), st->first + st->window);
  st->remaining = last - st->first;
  for (auto i = st->first; i < last; ++i)
    self->request(st->targets[i], caf::infinite, st->round).then([=](int) {
      if (--st->remaining == 0) {
        st->first += st->window;
        raw_round(self, st);
      }
    });
}

caf::behavior raw_gatherer(caf::event_based_actor* self,
                           std::vector<caf::actor> targets, int rounds,
                           std::size_t window, std::promise<double>* done) {
  auto st = std::make_shared<fan_state>();
  st->targets = std::move(targets);
  st->rounds = rounds;
  st->window = window;
  st->t0 = clock_type::now();
  st->done = done;
  raw_round(self, st);
  return {};
}

template <class F>
double run_gather(coactor::node& nd, const std::vector<caf::actor>& targets,
                  F gatherer, int rounds, std::size_t window) {
  std::promise<double> done;
  auto fut = done.get_future();
  nd.spawn(gatherer, targets, rounds, window, &done);
  return static_cast<double>(targets.size()) * rounds / fut.get();
}

// -- memory of suspended tasks ------------------------------------------------

coactor::task<void> nap(caf::event_based_actor* self) {
  co_await coactor::sleep(self, 1h);
}

coactor::task<void> ask_hole(caf::event_based_actor* self, caf::actor hole) {
  co_await coactor::ask<int>(self, hole, 1h, 1);
}

caf::behavior black_hole(caf::event_based_actor* self) {
  auto kept = std::make_shared<std::vector<caf::response_promise>>();
  return {[self, kept](int) {
    kept->push_back(self->make_response_promise());
    return kept->back();
  }};
}

using go_atom = caf::atom_constant<caf::atom("go")>;

enum class suspend_kind { co_sleep, co_ask, raw_ask, raw_nothing };

caf::behavior suspender(caf::event_based_actor* self, suspend_kind k, int n,
                        caf::actor hole, std::promise<void>* ready) {
  for (int i = 0; i < n; ++i) {
    switch (k) {
      case suspend_kind::co_sleep: coactor::start(self, nap(self)); break;
      case suspend_kind::co_ask:
        coactor::start(self, ask_hole(self, hole));
        break;
      case suspend_kind::raw_ask:
        self->request(hole, std::chrono::seconds{3600}, 1).then([](int) {});
        break;
      case suspend_kind::raw_nothing: break;
    }
  }
  ready->set_value();
  return {[](go_atom) {
  }};
}

struct mem_figure {
  double bytes_per_task;
  double rss_per_task;
};

mem_figure measure_suspended(coactor::node& nd, suspend_kind k, int n) {
  auto hole = nd.spawn(black_hole);
  // Warm up the hole's vector growth pattern equally for every kind.
  auto heap0 = settled_heap();
  auto rss0 = rss_bytes();
  std::promise<void> ready;
  auto fut = ready.get_future();
  auto a = nd.spawn(suspender, k, n, hole, &ready);
  fut.get();
  auto heap1 = settled_heap();
  auto rss1 = rss_bytes();
  caf::anon_send_exit(a, caf::exit_reason::kill);
  caf::anon_send_exit(hole, caf::exit_reason::kill);
  return {(static_cast<double>(heap1) - static_cast<double>(heap0)) / n,
          (static_cast<double>(rss1) - static_cast<double>(rss0)) / n};
}

coactor::node make(coactor::scheduler_policy p) {
  coactor::node_options opts;
  opts.log_level = coactor::log::level::warn;
  opts.policy = p;
  auto nd = coactor::node::create(opts);
  if (!nd) {
    std::fprintf(stderr, "%s\n", coactor::describe(nd.error()).c_str());
    std::exit(1);
  }
  return std::move(*nd);
}

// CPU seconds used by the whole process so far.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec)
         + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct speed_figures {
  double ping = 0;     // coactor ping-pong, round trips/s
  double gather = 0;   // coactor gather, 10,000 in flight, replies/s
  double idle_cpu = 0; // CPU share of an idle node (1.0 = one core)
};

speed_figures speed(coactor::scheduler_policy p, bool is_default) {
  speed_figures result;
  auto nd = make(p);
  auto name = std::string{coactor::to_string(p)}
              + (is_default ? " (node default)" : "");
  constexpr int pings = 200000;
  // Every figure is the median of `reps` runs, coactor and raw CAF
  // alternating: a single run of a few hundred milliseconds on a 2-core
  // machine varies by up to +-30% (a worker preempted, a wake-up late).
  constexpr int reps = 5;
  std::vector<double> co_pps;
  std::vector<double> raw_pps;
  for (int i = 0; i < reps; ++i) {
    raw_pps.push_back(run_ping(nd, raw_pinger, pings));
    co_pps.push_back(run_ping(nd, co_pinger, pings));
  }
  auto co_pp = median(co_pps);
  auto raw_pp = median(raw_pps);
  std::printf("[%s] ping-pong (median of %d): coactor %.0f round trips/s, "
              "raw CAF %.0f, ratio %.3f (goal >= 0.95)\n",
              name.c_str(), reps, co_pp, raw_pp, co_pp / raw_pp);
  result.ping = co_pp;
  std::vector<caf::actor> targets;
  for (int i = 0; i < 10000; ++i)
    targets.push_back(nd.spawn(echo));
  for (std::size_t window : {std::size_t{10000}, std::size_t{100}}) {
    int rounds = window == 10000 ? 10 : 40;
    std::vector<double> co_gs;
    std::vector<double> raw_gs;
    std::vector<double> per_reqs; // coactor, one handler per request (before)
    for (int i = 0; i < reps; ++i) {
      raw_gs.push_back(run_gather(nd, targets, raw_gatherer, rounds, window));
      co_gs.push_back(run_gather(nd, targets, co_gatherer, rounds, window));
      coactor::detail::share_batch_ids = false;
      per_reqs.push_back(run_gather(nd, targets, co_gatherer, rounds, window));
      coactor::detail::share_batch_ids = true;
    }
    auto co_g = median(co_gs);
    auto raw_g = median(raw_gs);
    std::printf("[%s] gather over 10,000 actors, %zu in flight (median of %d): "
                "coactor %.0f replies/s (runs %.0f-%.0f), raw CAF %.0f, ratio "
                "%.3f (goal >= 0.95; >= 1.5M/s with node defaults); coactor "
                "with one request id per ask (before) %.0f\n",
                name.c_str(), window, reps, co_g,
                *std::min_element(co_gs.begin(), co_gs.end()),
                *std::max_element(co_gs.begin(), co_gs.end()), raw_g,
                co_g / raw_g, median(per_reqs));
    if (window == 10000)
      result.gather = co_g;
  }
  // An idle node (10,000 actors alive, no messages): what its workers cost.
  std::this_thread::sleep_for(200ms);
  auto cpu0 = process_cpu_seconds();
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(3s);
  result.idle_cpu = (process_cpu_seconds() - cpu0) / seconds_since(t0);
  std::printf("[%s] idle node: %.2f%% of one core over 3 s\n", name.c_str(),
              100 * result.idle_cpu);
  targets.clear();
  nd.stop();
  return result;
}

} // namespace

int main(int argc, char** argv) {
  bool only_memory = argc > 1 && std::strcmp(argv[1], "memory") == 0;
  std::printf("threads: %zu (node default)\n", coactor::default_threads());
  if (!only_memory) {
    using coactor::scheduler_policy;
    auto def = coactor::node_options{}.effective_policy();
    std::vector<std::pair<scheduler_policy, speed_figures>> all;
    for (auto p : {scheduler_policy::balanced, scheduler_policy::sharing,
                   scheduler_policy::stealing})
      all.emplace_back(p, speed(p, p == def));
    speed_figures at_default;
    double best_ping = 0;
    const char* best_name = "";
    for (auto& [p, f] : all) {
      if (p == def)
        at_default = f;
      if (f.ping > best_ping) {
        best_ping = f.ping;
        best_name = coactor::to_string(p).data();
      }
    }
    std::printf("node default (%s): gather, 10,000 in flight, %.0f replies/s "
                "(goal >= 1.5M); ping-pong %.3f of its best (%s) (goal >= "
                "0.9); idle node %.2f%% of one core\n",
                coactor::to_string(def).data(), at_default.gather,
                at_default.ping / best_ping, best_name,
                100 * at_default.idle_cpu);
  }
  auto nd = make(coactor::node_options{}.effective_policy());
  constexpr int n = 100000;
  auto base = measure_suspended(nd, suspend_kind::raw_nothing, n);
  auto raw = measure_suspended(nd, suspend_kind::raw_ask, n);
  auto co_ask = measure_suspended(nd, suspend_kind::co_ask, n);
  auto co_sleep = measure_suspended(nd, suspend_kind::co_sleep, n);
  std::printf("memory, 100,000 suspended (heap bytes per item, incl. CAF's "
              "request bookkeeping): coactor ask %.0f B, raw CAF "
              "request().then() %.0f B, ratio %.2f; coactor sleep %.0f B "
              "(baseline noise %.0f B)\n",
              co_ask.bytes_per_task, raw.bytes_per_task,
              co_ask.bytes_per_task / raw.bytes_per_task,
              co_sleep.bytes_per_task, base.bytes_per_task);
  std::printf("memory, coactor beyond raw CAF per suspended ask: %.0f B "
              "(goal <= 256 B)\n",
              co_ask.bytes_per_task - raw.bytes_per_task);
  std::printf("RSS growth for 100,000 suspended tasks: ask %.1f MiB, sleep "
              "%.1f MiB (raw CAF requests %.1f MiB)\n",
              co_ask.rss_per_task * n / (1 << 20),
              co_sleep.rss_per_task * n / (1 << 20),
              raw.rss_per_task * n / (1 << 20));
  nd.stop();
}
