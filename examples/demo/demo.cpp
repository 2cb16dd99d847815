// The job of `scripts/dev run`: the seed's producer → buffer → consumer pool
// as a coactor pipeline. The pool is slower than the producer, so the buffer
// fills up and credit holds the producer back: memory stays bounded. Shows a
// live progress line (plain periodic lines when stdout is not a terminal)
// and the pipeline's summary.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>

#include <coactor/actors/pipeline.hpp>
#include <coactor/error.hpp>
#include <coactor/node.hpp>

using namespace coactor;
using namespace coactor::actors;
using namespace std::chrono_literals;

namespace {

// Simulated work: a consumer item costs far more than producing it.
uint64_t work(int x) {
  uint64_t h = static_cast<uint64_t>(x);
  for (int i = 0; i < 3000; ++i)
    h = h * 6364136223846793005ull + 1442695040888963407ull;
  return h;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = node_options::from_args(argc, argv);
  if (!opts) {
    std::cerr << "demo: " << describe(opts.error()) << '\n';
    return 2;
  }
  auto node = node::create(*opts);
  if (!node) {
    std::cerr << "demo: " << describe(node.error()) << '\n';
    return 2;
  }
  constexpr int items = 600'000;
  constexpr size_t consumers = 4;
  auto p = pipeline(*node)
               .from(iota(0, items))
               .via(buffer({.capacity = 4096}))
               .to(for_each([checksum = uint64_t{0}](
                                int x) mutable { checksum ^= work(x); },
                            64), // small windows: the buffer takes the load
                   parallel(consumers));
  std::promise<caf::expected<pipeline_summary>> done;
  auto result = done.get_future();
  auto running = p.start([&done](caf::expected<pipeline_summary> r) {
    done.set_value(std::move(r));
  });
  if (!running) {
    std::cerr << "demo: " << describe(running.error()) << '\n';
    return 1;
  }
  std::cout << "demo: " << items << " items, producer -> buffer(4096) -> "
            << consumers << " consumers on " << opts->threads << " threads\n";
  const bool tty = isatty(STDOUT_FILENO) != 0;
  uint64_t last = 0;
  auto interval = tty ? 100ms : 500ms;
  while (result.wait_for(interval) != std::future_status::ready) {
    auto pr = running->progress();
    auto rate = static_cast<double>(pr.consumed - last)
                / std::chrono::duration<double>(interval).count();
    last = pr.consumed;
    std::printf("%sprogress: %7llu/%d consumed, %6.2fM items/s, buffer "
                "%5llu/%llu%s",
                tty ? "\r" : "", static_cast<unsigned long long>(pr.consumed),
                items, rate / 1e6, static_cast<unsigned long long>(pr.buffered),
                static_cast<unsigned long long>(pr.buffer_capacity),
                tty ? "" : "\n");
    std::fflush(stdout);
  }
  if (tty)
    std::printf("\n");
  auto summary = result.get();
  int rc = 1;
  if (!summary) {
    std::cerr << "demo failed: " << describe(summary.error()) << '\n';
  } else {
    std::cout << "summary: " << summary->consumed << " items consumed\n"
              << summary->to_string();
    rc = summary->consumed == items ? 0 : 1;
  }
  return node->stop().clean() ? rc : 1;
}
