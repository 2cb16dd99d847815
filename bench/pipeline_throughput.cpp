// Benchmark: coactor pipelines (credit-based batches) against raw CAF doing
// the same work per item with one message per item (Savina-style
// demand-driven bounded buffer; an unbounded mailbox for the memory case).
// Goals (issue 5): 1→buffer(1000)→1 ≥ 50M items/s; 4→buffer(1000)→4 ≥ 20M
// items/s; peak RSS ≤ 64 MB for 10M items with a consumer 100× slower than
// the producer.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <vector>

#include <caf/all.hpp>
#include <coactor/actors/pipeline.hpp>
#include <coactor/node.hpp>

using namespace coactor;
using namespace coactor::actors;

namespace {

using clock_type = std::chrono::steady_clock;

// The per-item work of every consumer (coactor and raw CAF alike).
struct checksum {
  uint64_t sum = 0;
  void operator()(int x) noexcept { sum += static_cast<uint64_t>(x); }
};

// Work making a consumer ~100x slower than producing an int.
inline void slow_work(int x) {
  volatile uint64_t h = static_cast<uint64_t>(x);
  for (int i = 0; i < 60; ++i)
    h = h * 6364136223846793005ull + 1442695040888963407ull;
}

long peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

// -- coactor
// --------------------------------------------------------------------

double coactor_rate(node& n, int producers, int consumers, int items_each,
                    uint64_t& total) {
  std::vector<producer<int>> ps;
  for (int i = 0; i < producers; ++i)
    ps.push_back(iota(0, items_each));
  auto sink = std::make_shared<std::atomic<uint64_t>>(0);
  auto p = pipeline(n)
               .from(std::move(ps))
               .via(buffer({.capacity = 1000}))
               .to(for_each_batch([sink](std::vector<int>& xs) {
                     checksum c;
                     for (auto x : xs)
                       c(x);
                     sink->fetch_add(c.sum, std::memory_order_relaxed);
                   }),
                   parallel(static_cast<size_t>(consumers)));
  auto start = clock_type::now();
  auto r = p.run();
  std::chrono::duration<double> secs = clock_type::now() - start;
  if (!r) {
    std::fprintf(stderr, "coactor run failed: %s\n",
                 describe(r.error()).c_str());
    std::exit(1);
  }
  total = r->consumed;
  return static_cast<double>(r->consumed) / secs.count();
}

// -- raw CAF: Savina-style bounded buffer, one message per item
// -----------------

using produce_atom = caf::atom_constant<caf::atom("produce")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using fin_atom = caf::atom_constant<caf::atom("fin")>;

struct raw_buffer_state {
  std::deque<int> items;
  std::vector<caf::actor> idle_consumers;
  std::vector<caf::actor> stalled_producers;
  int producers_done = 0;
  int producers = 0;
  uint64_t forwarded = 0;
  uint64_t expected = 0;
  std::promise<void>* done = nullptr;
  size_t capacity = 1000;
};

caf::behavior raw_producer(caf::event_based_actor* self, int n) {
  auto next = std::make_shared<int>(0);
  return {[=](produce_atom) {
    if (*next < n) {
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 (*next)++);
    }
    if (*next == n)
      self->quit();
  }};
}

caf::behavior raw_consumer(caf::event_based_actor* self, caf::actor buf,
                           std::shared_ptr<std::atomic<uint64_t>> sink,
                           bool slow) {
  auto c = std::make_shared<checksum>();
  self->send(buf, ready_atom::value);
  return {[=](int x) {
            if (slow)
              slow_work(x);
            (*c)(x);
            self->send(buf, ready_atom::value);
          },
          [=](fin_atom) {
            sink->fetch_add(c->sum);
            self->quit();
          }};
}

caf::behavior raw_buffer(caf::stateful_actor<raw_buffer_state>* self,
                         std::vector<caf::actor> producers, uint64_t expected,
                         std::promise<void>* done) {
  auto& st = self->state;
  st.expected = expected;
  st.done = done;
  for (auto& p : producers)
    self->send(p, produce_atom::value);
  auto finish = [self] {
    auto& st = self->state;
    if (st.forwarded == st.expected) {
      for (auto& c : st.idle_consumers)
        self->send(c, fin_atom::value);
      st.idle_consumers.clear();
      st.done->set_value();
      self->quit();
    }
  };
  return {[=](int x) {
            auto& st = self->state;
            auto src = caf::actor_cast<caf::actor>(self->current_sender());
            if (!st.idle_consumers.empty()) {
              self->send(st.idle_consumers.back(), x);
              st.idle_consumers.pop_back();
              ++st.forwarded;
            } else {
              st.items.push_back(x);
            }
            if (st.items.size() < st.capacity)
              self->send(src, produce_atom::value);
            else
              st.stalled_producers.push_back(src);
          },
          [=](ready_atom) {
            auto& st = self->state;
            auto c = caf::actor_cast<caf::actor>(self->current_sender());
            if (!st.items.empty()) {
              self->send(c, st.items.front());
              st.items.pop_front();
              ++st.forwarded;
              if (!st.stalled_producers.empty()) {
                self->send(st.stalled_producers.back(), produce_atom::value);
                st.stalled_producers.pop_back();
              }
            } else {
              st.idle_consumers.push_back(c);
              finish();
            }
          }};
}

double raw_rate(caf::actor_system& sys, int producers, int consumers,
                int items_each) {
  std::promise<void> done;
  auto fut = done.get_future();
  std::vector<caf::actor> ps;
  for (int i = 0; i < producers; ++i)
    ps.push_back(sys.spawn(raw_producer, items_each));
  auto sink = std::make_shared<std::atomic<uint64_t>>(0);
  auto start = clock_type::now();
  auto buf = sys.spawn(raw_buffer, ps,
                       static_cast<uint64_t>(producers) * items_each, &done);
  for (int i = 0; i < consumers; ++i)
    sys.spawn(raw_consumer, buf, sink, false);
  fut.wait();
  std::chrono::duration<double> secs = clock_type::now() - start;
  return static_cast<double>(producers) * items_each / secs.count();
}

// -- memory: a consumer 100x slower than the producer
// -----------------------------

void coactor_memory(node& n, int items) {
  auto p = pipeline(n)
               .from(iota(0, items))
               .via(buffer({.capacity = 1000}))
               .to(for_each([](int x) { slow_work(x); }));
  auto start = clock_type::now();
  auto r = p.run();
  std::chrono::duration<double> secs = clock_type::now() - start;
  if (!r) {
    std::fprintf(stderr, "coactor run failed\n");
    std::exit(1);
  }
  std::printf("  coactor: %d items with a slow consumer in %.2f s, buffer "
              "high-water %llu, peak RSS %ld MB (goal: <= 64 MB)\n",
              items, secs.count(),
              static_cast<unsigned long long>(r->stage("buffer")->high_water),
              peak_rss_mb());
}

caf::behavior raw_push_producer(caf::event_based_actor* self, caf::actor dst,
                                int n) {
  for (int i = 0; i < n; ++i)
    self->send(dst, i);
  self->send(dst, fin_atom::value);
  return {};
}

void raw_memory(caf::actor_system& sys, int items) {
  auto sink = std::make_shared<std::atomic<uint64_t>>(0);
  std::promise<void> done;
  auto fut = done.get_future();
  auto consumer = sys.spawn([&done](caf::event_based_actor* self) {
    (void)self;
    return caf::behavior{[](int x) { slow_work(x); },
                         [&done, self](fin_atom) {
                           done.set_value();
                           self->quit();
                         }};
  });
  auto start = clock_type::now();
  sys.spawn(raw_push_producer, consumer, items);
  fut.wait();
  std::chrono::duration<double> secs = clock_type::now() - start;
  std::printf("  raw CAF (one message per item, unbounded mailbox): %d items "
              "in %.2f s, peak RSS %ld MB\n",
              items, secs.count(), peak_rss_mb());
}

} // namespace

int main(int argc, char** argv) {
  bool memory_only = argc > 1 && std::string_view{argv[1]} == "memory";
  node_options opts;
  opts.name = "bench";
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto n = node::create(opts);
  if (!n) {
    std::fprintf(stderr, "%s\n", describe(n.error()).c_str());
    return 1;
  }
  if (!memory_only) {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", opts.threads);
    caf::actor_system sys{cfg};
    uint64_t total = 0;
    {
      auto ours = coactor_rate(*n, 1, 1, 50'000'000, total);
      auto raw = raw_rate(sys, 1, 1, 1'000'000);
      std::printf("1 producer -> buffer(1000) -> 1 consumer, int items:\n"
                  "  coactor %.1fM items/s (%llu items), raw CAF %.2fM "
                  "items/s, ratio %.1fx (goal: >= 50M items/s)\n",
                  ours / 1e6, static_cast<unsigned long long>(total), raw / 1e6,
                  ours / raw);
    }
    {
      auto ours = coactor_rate(*n, 4, 4, 10'000'000, total);
      auto raw = raw_rate(sys, 4, 4, 250'000);
      std::printf("4 producers -> buffer(1000) -> 4 consumers, int items:\n"
                  "  coactor %.1fM items/s (%llu items), raw CAF %.2fM "
                  "items/s, ratio %.1fx (goal: >= 20M items/s)\n",
                  ours / 1e6, static_cast<unsigned long long>(total), raw / 1e6,
                  ours / raw);
    }
  }
  // Memory last: peak RSS only grows. coactor first, then the baseline.
  std::printf("10M items, consumer ~100x slower than the producer:\n");
  coactor_memory(*n, 10'000'000);
  n->stop();
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", opts.threads);
    caf::actor_system sys{cfg};
    raw_memory(sys, 10'000'000);
  }
  return 0;
}
