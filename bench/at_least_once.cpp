// Benchmark of at-least-once delivery (issue 12), in one run:
// - throughput of iota -> outlet -> inlet -> counter with the outlet at most
//   once (the baseline) vs at least once, on one node (outlet and inlet on
//   the same node) and across two nodes in this process over 127.0.0.1;
//   a warm-up per side, then `reps` runs per side interleaved; min/median/max
//   and the ratio of the medians (goal: at least once >= 0.7x);
// - recovery: the inlet is killed mid-stream (its actor, in-process: the
//   outlet sees the same down message as for a killed process) and a
//   successor pipeline started at once; from the successor's start to its
//   first redelivered item (goal: <= 1 s), and from the kill.
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/send.hpp>
#include <coactor/actors/pipeline.hpp>
#include <coactor/actors/remote.hpp>
#include <coactor/node.hpp>
#include <coactor/remote.hpp>

#include "machine.hpp"
#include "stats.hpp"
#include "stream_node.hpp"

using namespace std::chrono_literals;
using namespace coactor;
using namespace coactor::actors;

namespace {

using clock_type = std::chrono::steady_clock;
using result = caf::expected<pipeline_summary>;

constexpr int reps = 5;
constexpr int64_t items = 4'000'000;

void check(const result& r, const char* what) {
  if (!r)
    throw std::runtime_error(std::string{what} + ": " + describe(r.error()));
}

struct receiving {
  std::shared_ptr<std::promise<result>> done;
  std::future<result> fut;
  running_pipeline run;
};

template <class Sink>
receiving start_inlet(node& n, Sink sink) {
  receiving r;
  r.done = std::make_shared<std::promise<result>>();
  r.fut = r.done->get_future();
  auto started = pipeline(n)
                     .from(inlet<int64_t>("in"))
                     .to(std::move(sink))
                     .start([done = r.done](result x) {
                       done->set_value(std::move(x));
                     });
  if (!started)
    throw std::runtime_error(describe(started.error()));
  r.run = *started;
  return r;
}

// One run: items per second through outlet -> inlet.
double run_once(node& sender, node& receiver, bool same_node, delivery mode) {
  auto in = start_inlet(receiver, counter());
  caf::actor target = in.run.stage("in");
  auto port = *remote::port(receiver);
  if (!same_node) {
    auto p = remote::connect(sender, "127.0.0.1", port);
    if (!p)
      throw std::runtime_error(describe(p.error()));
    auto hdl = remote::lookup(sender, *p, "in");
    if (!hdl)
      throw std::runtime_error(describe(hdl.error()));
    target = *hdl;
  }
  auto out = outlet<int64_t>(target, "in");
  if (mode == delivery::at_least_once)
    out = std::move(out).at_least_once("127.0.0.1", port);
  auto t0 = clock_type::now();
  auto sent = pipeline(sender).from(iota<int64_t>(0, items)).to(out).run();
  auto got = in.fut.get();
  std::chrono::duration<double> secs = clock_type::now() - t0;
  check(sent, "sending run");
  check(got, "receiving run");
  if (got->consumed != static_cast<uint64_t>(items))
    throw std::runtime_error("items lost");
  return static_cast<double>(items) / secs.count();
}

void throughput(const char* label, node& sender, node& receiver,
                bool same_node) {
  std::vector<double> most;
  std::vector<double> least;
  run_once(sender, receiver, same_node, delivery::at_most_once); // warm-up
  run_once(sender, receiver, same_node, delivery::at_least_once);
  for (int i = 0; i < reps; ++i) {
    most.push_back(
        run_once(sender, receiver, same_node, delivery::at_most_once));
    least.push_back(
        run_once(sender, receiver, same_node, delivery::at_least_once));
  }
  auto m = bench::spread(most);
  auto l = bench::spread(least);
  std::printf("%s, %lld int64 items per run:\n"
              "  at most once:  min %.2fM  median %.2fM  max %.2fM items/s\n"
              "  at least once: min %.2fM  median %.2fM  max %.2fM items/s\n"
              "  ratio of medians %.3fx (goal: >= 0.7x)\n",
              label, static_cast<long long>(items), m.min / 1e6, m.median / 1e6,
              m.max / 1e6, l.min / 1e6, l.median / 1e6, l.max / 1e6,
              l.median / m.median);
}

// Kills the inlet mid-stream, starts a successor at once; returns the
// seconds from the successor's start, and from the kill, to its first item.
std::pair<double, double> recover_once(node& sender, node& receiver) {
  auto first_seen = std::make_shared<std::atomic<bool>>(false);
  auto first_at = std::make_shared<std::atomic<int64_t>>(0);
  auto on_items = [first_seen, first_at](std::vector<int64_t>&) {
    if (!first_seen->exchange(true))
      first_at->store(clock_type::now().time_since_epoch().count());
  };
  auto progress = std::make_shared<std::atomic<int64_t>>(0);
  auto in = start_inlet(receiver, for_each_batch([progress](auto& xs) {
                          progress->fetch_add(static_cast<int64_t>(xs.size()));
                        }));
  auto port = *remote::port(receiver);
  auto p = remote::connect(sender, "127.0.0.1", port);
  if (!p)
    throw std::runtime_error(describe(p.error()));
  auto target = remote::lookup(sender, *p, "in");
  if (!target)
    throw std::runtime_error(describe(target.error()));
  std::promise<result> sent_done;
  auto sent_fut = sent_done.get_future();
  auto started = pipeline(sender)
                     .from(iota<int64_t>(0, items))
                     .to(outlet<int64_t>(*target, "in")
                             .at_least_once("127.0.0.1", port, 30s))
                     .start([&sent_done](result r) {
                       sent_done.set_value(std::move(r));
                     });
  if (!started)
    throw std::runtime_error(describe(started.error()));
  while (progress->load() < items / 4)
    sched_yield(); // a benchmark's busy wait, not a test's sleep
  auto killed = clock_type::now();
  caf::anon_send_exit(*target, caf::exit_reason::kill);
  in.fut.wait();
  auto restarted = clock_type::now();
  auto next = start_inlet(receiver, for_each_batch(on_items));
  check(sent_fut.get(), "sending run after the kill");
  check(next.fut.get(), "successor run");
  auto first = clock_type::time_point{clock_type::duration{first_at->load()}};
  return {std::chrono::duration<double>(first - restarted).count(),
          std::chrono::duration<double>(first - killed).count()};
}

} // namespace

int main() {
  try {
    std::printf("machine: %d cores (nproc), %s (UTC); nodes of 2 scheduler "
                "threads; %d runs per side, interleaved, after a warm-up\n",
                bench::cores(), bench::utc_date().c_str(), reps);
    {
      auto n = bench::int64_stream_node("local", true);
      throughput("one node (outlet and inlet on the same node)", n, n, true);
    }
    auto receiver = bench::int64_stream_node("receiver", true);
    auto sender = bench::int64_stream_node("sender", false);
    throughput("two nodes over 127.0.0.1", sender, receiver, false);
    std::vector<double> from_start;
    std::vector<double> from_kill;
    for (int i = 0; i < reps; ++i) {
      auto [a, b] = recover_once(sender, receiver);
      from_start.push_back(a);
      from_kill.push_back(b);
    }
    auto s = bench::spread(from_start);
    auto k = bench::spread(from_kill);
    std::printf("recovery, two nodes, inlet killed after 1/4 of %lld items, a "
                "successor started at once (%d runs):\n"
                "  successor start -> first redelivered item: min %.0f  "
                "median %.0f  max %.0f ms (goal: <= 1000 ms)\n"
                "  kill -> first redelivered item: min %.0f  median %.0f  max "
                "%.0f ms\n",
                static_cast<long long>(items), reps, s.min * 1e3,
                s.median * 1e3, s.max * 1e3, k.min * 1e3, k.median * 1e3,
                k.max * 1e3);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "at-least-once bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
