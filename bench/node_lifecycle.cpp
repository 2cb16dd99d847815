// Benchmark: start plus stop of a coactor node against a raw CAF actor system
// with the same scheduler settings. Goal: under 50 ms per start+stop.
#include <chrono>
#include <cstdio>

#include <caf/all.hpp>
#include <coactor/node.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

template <class F>
double ms_per_run(int runs, F f) {
  auto start = clock_type::now();
  for (int i = 0; i < runs; ++i)
    f();
  std::chrono::duration<double, std::milli> total = clock_type::now() - start;
  return total.count() / runs;
}

caf::behavior echo(caf::event_based_actor*) {
  return {[](int x) {
    return x;
  }};
}

} // namespace

int main() {
  constexpr int runs = 50;
  coactor::node_options opts;
  opts.log_level = coactor::log::level::warn;
  auto raw = ms_per_run(runs, [&] {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", opts.threads);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    caf::actor_system sys{cfg};
    auto a = sys.spawn(echo);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  });
  auto ours = ms_per_run(runs, [&] {
    auto n = coactor::node::create(opts);
    n->spawn(echo);
    n->stop();
  });
  std::printf("node start+stop (1 actor, %zu threads): coactor %.3f ms, "
              "raw CAF %.3f ms, ratio %.2f (goal: < 50 ms)\n",
              opts.threads, ours, raw, ours / raw);
}
