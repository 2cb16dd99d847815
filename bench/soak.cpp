// Soak (issue 12): a local pipeline and a two-node at-least-once pipeline,
// both with a slow consumer (so backpressure and the acknowledgements'
// window are always in use), run side by side for a long time while the
// resident set of the process is sampled. Bounded memory means a flat RSS:
// goal, growth from the first sample (after a warm-up) to the last <= 5 %.
//
//   soak_pipelines [seconds=600] [interval=10]
//
// Not part of `scripts/dev bench` (it takes ten minutes): run it with
// `scripts/dev bench soak_pipelines`.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <coactor/actors/buffer.hpp>
#include <coactor/actors/pipeline.hpp>
#include <coactor/actors/remote.hpp>
#include <coactor/actors/stage.hpp>
#include <coactor/node.hpp>
#include <coactor/remote.hpp>

#include "machine.hpp"
#include "memory.hpp"
#include "stream_node.hpp"

using namespace std::chrono_literals;
using namespace coactor;
using namespace coactor::actors;

namespace {

using result = caf::expected<pipeline_summary>;

// A consumer slower than its producer: some arithmetic per item (a few
// hundred nanoseconds), counted in `seen`.
auto slow_consumer(std::shared_ptr<std::atomic<uint64_t>> seen) {
  return for_each_batch([seen](std::vector<int64_t>& xs) {
    uint64_t h = 0;
    for (auto x : xs)
      for (int i = 0; i < 64; ++i)
        h = h * 6364136223846793005ULL + static_cast<uint64_t>(x);
    if (h == 42) // keeps the loop from being optimised away
      std::puts("");
    seen->fetch_add(xs.size(), std::memory_order_relaxed);
  });
}

struct started_run {
  running_pipeline run;
  std::future<result> done;
};

started_run start(const runnable_pipeline& p) {
  auto promise = std::make_shared<std::promise<result>>();
  started_run s;
  s.done = promise->get_future();
  auto r = p.start([promise](result x) { promise->set_value(std::move(x)); });
  if (!r)
    throw std::runtime_error(describe(r.error()));
  s.run = *r;
  return s;
}

constexpr int64_t endless = std::numeric_limits<int64_t>::max();

} // namespace

int main(int argc, char** argv) {
  try {
    long seconds = argc > 1 ? std::atol(argv[1]) : 600;
    long interval = argc > 2 ? std::atol(argv[2]) : 10;
    if (seconds <= 0 || interval <= 0 || interval > seconds)
      throw std::invalid_argument("usage: soak_pipelines [seconds] [interval]");
    std::printf("machine: %d cores (nproc), %s (UTC); %ld s, RSS every %ld s\n",
                bench::cores(), bench::utc_date().c_str(), seconds, interval);
    auto local = bench::int64_stream_node("local", false);
    auto receiver = bench::int64_stream_node("receiver", true);
    auto sender = bench::int64_stream_node("sender", false);
    auto local_seen = std::make_shared<std::atomic<uint64_t>>(0);
    auto remote_seen = std::make_shared<std::atomic<uint64_t>>(0);

    auto a = start(pipeline(local)
                       .from(iota<int64_t>(0, endless))
                       .via(map([](int64_t x) { return x * 3; }))
                       .via(buffer({.capacity = 4096}))
                       .to(slow_consumer(local_seen)));
    auto in = start(pipeline(receiver)
                        .from(inlet<int64_t>("in"))
                        .to(slow_consumer(remote_seen)));
    auto port = *remote::port(receiver);
    auto peer = remote::connect(sender, "127.0.0.1", port);
    if (!peer)
      throw std::runtime_error(describe(peer.error()));
    auto target = remote::lookup(sender, *peer, "in");
    if (!target)
      throw std::runtime_error(describe(target.error()));
    auto b = start(pipeline(sender)
                       .from(iota<int64_t>(0, endless))
                       .to(outlet<int64_t>(*target, "in")
                               .at_least_once("127.0.0.1", port)));

    std::vector<double> rss_mib;
    auto t0 = std::chrono::steady_clock::now();
    for (long t = interval; t <= seconds; t += interval) {
      std::this_thread::sleep_until(t0 + std::chrono::seconds{t});
      auto mib = static_cast<double>(bench::rss_bytes()) / (1024.0 * 1024.0);
      rss_mib.push_back(mib);
      std::printf("  t=%4lds  rss %7.1f MiB  local %12llu items  two nodes "
                  "%12llu items\n",
                  t, mib, static_cast<unsigned long long>(local_seen->load()),
                  static_cast<unsigned long long>(remote_seen->load()));
      std::fflush(stdout);
    }
    a.run.cancel();
    b.run.cancel();
    a.done.wait();
    b.done.wait();
    in.done.wait();
    // The first sample is the warm-up (allocator arenas, CAF's caches).
    auto first = rss_mib.front();
    auto last = rss_mib.back();
    auto peak = *std::max_element(rss_mib.begin(), rss_mib.end());
    std::printf("RSS first %.1f MiB, last %.1f MiB, peak %.1f MiB: growth "
                "%.1f %% (goal: <= 5 %%)\n",
                first, last, peak, (last - first) / first * 100.0);
    if (local_seen->load() == 0 || remote_seen->load() == 0)
      throw std::runtime_error("a pipeline moved no items");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak_pipelines: %s\n", e.what());
    return 1;
  }
}
