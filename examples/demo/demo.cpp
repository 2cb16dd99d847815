// The main job of `scripts/dev run` (until the pipeline demo replaces it): a
// coordinator actor splits a range into chunks, a pool of worker actors counts
// the primes in each, and the coordinator reports progress and a summary.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <vector>

#include <caf/all.hpp>
#include <coactor/error.hpp>
#include <coactor/node.hpp>

namespace {

using range = std::pair<uint64_t, uint64_t>;

bool is_prime(uint64_t n) {
  if (n < 2)
    return false;
  for (uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0)
      return false;
  return true;
}

caf::behavior worker(caf::event_based_actor*) {
  return {[](uint64_t lo, uint64_t hi) {
    uint64_t count = 0;
    for (auto n = lo; n < hi; ++n)
      count += is_prime(n) ? 1 : 0;
    return count;
  }};
}

struct coordinator_state {
  static inline const char* name = "coordinator";
  uint64_t primes = 0;
  size_t done = 0;
};

// Hands out every chunk at once (the workers' mailboxes queue them) and sums
// the replies; answers the original request with the total.
caf::behavior coordinator(caf::stateful_actor<coordinator_state>* self,
                          std::vector<caf::actor> workers) {
  return {[=](uint64_t limit, uint64_t chunk) {
    auto rp = self->make_response_promise<uint64_t>();
    auto chunks = (limit + chunk - 1) / chunk;
    for (uint64_t i = 0; i < chunks; ++i) {
      auto lo = i * chunk;
      auto hi = std::min(limit, lo + chunk);
      self->request(workers[i % workers.size()], std::chrono::seconds{60}, lo,
                    hi)
          .then(
              [=](uint64_t n) mutable {
                auto& st = self->state;
                st.primes += n;
                ++st.done;
                if (st.done % (chunks / 10 == 0 ? 1 : chunks / 10) == 0)
                  std::cout << "progress: " << st.done << "/" << chunks
                            << " chunks, " << st.primes << " primes so far\n";
                if (st.done == chunks)
                  rp.deliver(st.primes);
              },
              [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
    }
    return rp;
  }};
}

} // namespace

int main(int argc, char** argv) {
  auto opts = coactor::node_options::from_args(argc, argv);
  if (!opts) {
    std::cerr << "demo: " << coactor::describe(opts.error()) << '\n';
    return 2;
  }
  auto node = coactor::node::create(*opts);
  if (!node) {
    std::cerr << "demo: " << coactor::describe(node.error()) << '\n';
    return 2;
  }
  constexpr uint64_t limit = 2'000'000;
  constexpr uint64_t chunk = 20'000;
  std::vector<caf::actor> workers;
  for (size_t i = 0; i < node->options().threads * 2; ++i)
    workers.push_back(node->spawn(worker));
  auto coord = node->spawn(coordinator, workers);
  auto start = std::chrono::steady_clock::now();
  int rc = 1;
  { // the blocking scoped actor must be gone before the node stops
    caf::scoped_actor self{node->system()};
    self->request(coord, std::chrono::seconds{120}, limit, chunk)
        .receive(
            [&](uint64_t primes) {
              std::chrono::duration<double> secs
                  = std::chrono::steady_clock::now() - start;
              std::cout << "summary: " << primes << " primes below " << limit
                        << ", " << limit / chunk << " chunks on "
                        << workers.size() << " worker actors and "
                        << node->options().threads << " threads, "
                        << secs.count() << " s\n";
              rc = primes == 148933 ? 0 : 1; // pi(2e6)
            },
            [&](caf::error& err) {
              std::cerr << "demo failed: " << coactor::describe(err) << '\n';
            });
  }
  auto report = node->stop();
  return report.clean() ? rc : 1;
}
