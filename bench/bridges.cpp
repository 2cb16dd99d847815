// Benchmarks of coactor's bridges against raw CAF doing the same work:
// foreign thread -> actor calls/s (bridge vs anon_send), and non-actor ->
// actor round trips (gateway callback, gateway future, scoped_actor,
// function_view).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "coactor/bridge.hpp"
#include "coactor/error.hpp"
#include "coactor/gateway.hpp"
#include "coactor/node.hpp"
#include "stats.hpp"

using coactor::bench::median;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

using made_atom = caf::atom_constant<caf::atom("made")>;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Counts `int` messages (raw CAF) or bridge calls (coactor) and fulfils a
// promise once `expected` arrived.
struct sink_state {
  long long expected = 0;
  long long seen = 0;
  long long sum = 0;
  std::promise<void>* done = nullptr;
  void add(int x) {
    sum += x;
    if (++seen == expected)
      done->set_value();
  }
};

caf::behavior sink(caf::stateful_actor<sink_state>* self, long long expected,
                   std::promise<void>* done,
                   std::promise<coactor::bridge<int>>* made) {
  self->state.expected = expected;
  self->state.done = done;
  if (made != nullptr)
    made->set_value(
        coactor::make_bridge(self, [self](int x) { self->state.add(x); }));
  return {[self](int x) {
    self->state.add(x);
  }};
}

// Posts `per_thread` calls from each of `threads` threads; returns calls/s
// until the actor handled them all.
template <class Post>
double run_posts(int threads, long long per_thread, std::future<void> done,
                 Post post) {
  auto t0 = clock_type::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&post, per_thread] {
      for (long long i = 0; i < per_thread; ++i)
        post(static_cast<int>(i));
    });
  for (auto& t : ts)
    t.join();
  if (done.wait_for(120s) != std::future_status::ready) {
    std::fprintf(stderr, "benchmark stalled\n");
    std::exit(1);
  }
  return static_cast<double>(threads * per_thread) / seconds_since(t0);
}

double bench_raw_send(coactor::node& n, int threads, long long per_thread) {
  std::promise<void> done;
  auto hdl = n.spawn(sink, threads * per_thread, &done, nullptr);
  auto rate = run_posts(threads, per_thread, done.get_future(),
                        [&hdl](int x) { caf::anon_send(hdl, x); });
  caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  return rate;
}

double bench_bridge(coactor::node& n, int threads, long long per_thread) {
  std::promise<void> done;
  std::promise<coactor::bridge<int>> made;
  auto hdl = n.spawn(sink, threads * per_thread, &done, &made);
  auto post = made.get_future().get();
  auto rate = run_posts(threads, per_thread, done.get_future(), post);
  post.stop();
  caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  return rate;
}

caf::behavior adder() {
  return {[](int x) {
    return x + 1;
  }};
}

// Round trips, microseconds per call. Pipelined: up to `window` asks in
// flight from one thread (a server's request threads together), the rest
// waits for a slot.
double bench_gateway_pipelined(coactor::node& n, const caf::actor& calc,
                               int calls, int window) {
  std::mutex mtx;
  std::condition_variable cv;
  int answered = 0;
  int failed = 0;
  auto t0 = clock_type::now();
  for (int i = 0; i < calls; ++i) {
    {
      std::unique_lock<std::mutex> guard{mtx};
      cv.wait(guard, [&] { return i - answered < window; });
    }
    coactor::async_ask<int>(
        n, calc, 60s,
        [&](caf::expected<int> x) {
          {
            std::lock_guard<std::mutex> guard{mtx};
            if (!x)
              ++failed;
            ++answered;
          }
          cv.notify_one();
        },
        i);
  }
  std::unique_lock<std::mutex> guard{mtx};
  cv.wait(guard, [&] { return answered == calls; });
  auto us = seconds_since(t0) * 1e6 / calls;
  if (failed > 0)
    std::fprintf(stderr, "gateway: %d failed calls\n", failed);
  return us;
}

// As bench_gateway_pipelined, but the client refills its window in bursts:
// once `window` asks are in flight it sleeps until only `low` are, and the
// callbacks wake it only then. The per-reply wake-up of the client (a futex
// syscall each, most of what perf shows in bench_gateway_pipelined) is gone,
// so this measures the gateway more than the client's synchronisation.
double bench_gateway_refilled(coactor::node& n, const caf::actor& calc,
                              int calls, int window, int low) {
  std::mutex mtx;
  std::condition_variable cv;
  int posted = 0;
  int answered = 0;
  int failed = 0;
  auto callback = [&](caf::expected<int> x) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!x)
        ++failed;
      ++answered;
      wake = posted - answered == low || answered == calls;
    }
    if (wake)
      cv.notify_one();
  };
  auto t0 = clock_type::now();
  for (;;) {
    int from = 0;
    int to = 0;
    {
      std::unique_lock<std::mutex> guard{mtx};
      if (posted == calls)
        break;
      if (posted - answered >= window)
        cv.wait(guard, [&] { return posted - answered <= low; });
      from = posted;
      to = std::min(calls, posted + window - (posted - answered));
      posted = to; // counted before the asks go out: callbacks compare
    }
    for (int i = from; i < to; ++i)
      coactor::async_ask<int>(n, calc, 60s, callback, i);
  }
  std::unique_lock<std::mutex> guard{mtx};
  cv.wait(guard, [&] { return answered == calls; });
  auto us = seconds_since(t0) * 1e6 / calls;
  if (failed > 0)
    std::fprintf(stderr, "gateway: %d failed calls\n", failed);
  return us;
}

double bench_gateway_future(coactor::node& n, const caf::actor& calc,
                            int calls) {
  auto t0 = clock_type::now();
  for (int i = 0; i < calls; ++i) {
    auto res = coactor::ask_future<int>(n, calc, 60s, i).get();
    if (!res || *res != i + 1) {
      std::fprintf(stderr, "gateway future: bad reply\n");
      std::exit(1);
    }
  }
  return seconds_since(t0) * 1e6 / calls;
}

double bench_scoped_actor(coactor::node& n, const caf::actor& calc, int calls) {
  caf::scoped_actor self{n.system()};
  auto t0 = clock_type::now();
  for (int i = 0; i < calls; ++i)
    self->request(calc, caf::infinite, i)
        .receive([](int) {},
                 [](caf::error&) {
                   std::fprintf(stderr, "scoped_actor: error\n");
                   std::exit(1);
                 });
  return seconds_since(t0) * 1e6 / calls;
}

double bench_function_view(const caf::actor& calc, int calls) {
  auto f = caf::make_function_view(calc);
  auto t0 = clock_type::now();
  for (int i = 0; i < calls; ++i) {
    auto res = f(i);
    if (!res) {
      std::fprintf(stderr, "function_view: error\n");
      std::exit(1);
    }
  }
  return seconds_since(t0) * 1e6 / calls;
}

void bench_bridges(coactor::node& n);
void bench_gateways(coactor::node& n, bool pipelined_only);

} // namespace

int main(int argc, char** argv) {
  auto opts = coactor::node_options::from_args(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "%s\n", coactor::describe(opts.error()).c_str());
    return 1;
  }
  opts->log_level = coactor::log::level::warn;
  auto n = coactor::node::create(*opts);
  if (!n) {
    std::fprintf(stderr, "%s\n", coactor::describe(n.error()).c_str());
    return 1;
  }
  std::printf("node: %zu scheduler threads, policy %s\n", opts->threads,
              std::string{coactor::to_string(n->options().policy)}.c_str());

  // COACTOR_BENCH_ONLY=bridge|gateway|pipelined runs one part (e.g. under
  // perf; pipelined: only the gateway callback form, 10 runs).
  const char* only_env = std::getenv("COACTOR_BENCH_ONLY");
  std::string only = only_env != nullptr ? only_env : "";
  if (only.empty() || only == "bridge")
    bench_bridges(*n);
  if (only.empty() || only == "gateway" || only == "pipelined")
    bench_gateways(*n, only == "pipelined");
  n->stop();
  return 0;
}

namespace {

void bench_bridges(coactor::node& n) {
  std::printf("\n== foreign thread -> actor, calls/s (best of 3) ==\n");
  std::printf("%-10s %14s %14s %8s\n", "threads", "bridge", "anon_send",
              "ratio");
  for (int threads : {1, 4}) {
    long long per_thread = 2'000'000 / threads;
    double best_bridge = 0;
    double best_raw = 0;
    for (int rep = 0; rep < 3; ++rep) {
      best_raw = std::max(best_raw, bench_raw_send(n, threads, per_thread));
      best_bridge = std::max(best_bridge, bench_bridge(n, threads, per_thread));
    }
    std::printf("%-10d %13.2fM %13.2fM %7.2fx\n", threads, best_bridge / 1e6,
                best_raw / 1e6, best_bridge / best_raw);
  }
}

void bench_gateways(coactor::node& n, bool pipelined_only) {
  std::printf("\n== non-actor thread -> actor round trip, us/call ==\n");
  auto calc = n.spawn(adder);
  constexpr int window = 256;
  // Warm up every path once.
  bench_gateway_pipelined(n, calc, 1'000, window);
  bench_gateway_future(n, calc, 100);
  constexpr int low = window / 2;
  if (pipelined_only) {
    double best = 1e9;
    double best_refilled = 1e9;
    for (int rep = 0; rep < 10; ++rep) {
      best = std::min(best, bench_gateway_pipelined(n, calc, 100'000, window));
      best_refilled = std::min(
          best_refilled, bench_gateway_refilled(n, calc, 100'000, window, low));
    }
    std::printf("gateway callback, pipelined: %.2f us/call (best of 10)\n",
                best);
    std::printf("gateway callback, refilled:  %.2f us/call (best of 10)\n",
                best_refilled);
    return;
  }
  // The median of five runs each, the forms alternating: one run varies by
  // up to +-30% on a 2-core machine (scoped_actor's most), and a best-of-N
  // favours the short runs of the sequential forms.
  constexpr int reps = 5;
  std::vector<double> scopeds, pipelineds, refilleds, futures, fviews;
  for (int rep = 0; rep < reps; ++rep) {
    scopeds.push_back(bench_scoped_actor(n, calc, 2'000));
    pipelineds.push_back(bench_gateway_pipelined(n, calc, 100'000, window));
    refilleds.push_back(bench_gateway_refilled(n, calc, 100'000, window, low));
    futures.push_back(bench_gateway_future(n, calc, 2'000));
    fviews.push_back(bench_function_view(calc, 2'000));
  }
  auto scoped = median(scopeds);
  auto pipelined = median(pipelineds);
  auto refilled = median(refilleds);
  auto future = median(futures);
  auto fview = median(fviews);
  std::printf("(median of %d runs; scoped_actor runs %.2f-%.2f us, pipelined "
              "gateway runs %.2f-%.2f us)\n",
              reps, *std::min_element(scopeds.begin(), scopeds.end()),
              *std::max_element(scopeds.begin(), scopeds.end()),
              *std::min_element(pipelineds.begin(), pipelineds.end()),
              *std::max_element(pipelineds.begin(), pipelineds.end()));
  std::printf("%-28s %10s %20s\n", "form", "us/call", "vs scoped_actor");
  std::printf("%-28s %10.2f %19.1fx\n", "gateway callback, pipelined*",
              pipelined, scoped / pipelined);
  std::printf("%-28s %10.2f %19.1fx\n", "gateway callback, refilled**",
              refilled, scoped / refilled);
  std::printf("%-28s %10.2f %19.1fx\n", "gateway future, sequential", future,
              scoped / future);
  std::printf("%-28s %10.2f %19.1fx\n", "scoped_actor (raw CAF)", scoped, 1.0);
  std::printf("%-28s %10.2f %19.1fx\n", "function_view (raw CAF)", fview,
              scoped / fview);
  std::printf("* at most %d asks in flight from one thread\n", window);
  std::printf("** same, the window refilled in bursts once %d are in flight\n",
              low);
}

} // namespace
