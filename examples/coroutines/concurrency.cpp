// One hundred requests that each take a (scaled) second, 10 ms here: awaited
// one after another they take about 100 x 10 ms, gathered about 10 ms.
#include <chrono>
#include <cstdio>
#include <future>
#include <vector>

#include <caf/all.hpp>
#include <coactor/coroutines.hpp>
#include <coactor/node.hpp>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int requests = 100;
constexpr auto work = 10ms; // the scaled "second"

// The slow operation: answers after `work`, without blocking its actor.
coactor::task<int> slow_square(caf::event_based_actor* self, int x) {
  co_await coactor::sleep(self, work);
  co_return x* x;
}

caf::behavior worker(caf::event_based_actor* self) {
  return {[self](int x) {
    return coactor::respond(self, slow_square(self, x));
  }};
}

struct timings {
  long sequential_sum = 0;
  clock_type::duration sequential;
  long gathered_sum = 0;
  clock_type::duration gathered;
};

coactor::task<timings> measure(caf::event_based_actor* self, caf::actor w) {
  timings t;
  auto start = clock_type::now();
  for (int i = 0; i < requests; ++i) {
    auto r = co_await coactor::ask<int>(self, w, 5s, i);
    if (!r)
      co_return r.error();
    t.sequential_sum += *r;
  }
  t.sequential = clock_type::now() - start;
  std::vector<coactor::ask_awaitable<int, int>> all;
  for (int i = 0; i < requests; ++i)
    all.push_back(coactor::ask<int>(self, w, 5s, i));
  start = clock_type::now();
  auto rs = co_await coactor::gather(std::move(all));
  t.gathered = clock_type::now() - start;
  for (auto& r : rs) {
    if (!r)
      co_return r.error();
    t.gathered_sum += *r;
  }
  co_return t;
}

caf::behavior client(caf::event_based_actor* self, caf::actor w,
                     std::promise<caf::expected<timings>>* done) {
  coactor::start(self, measure(self, w),
                 [done](caf::expected<timings> r) { done->set_value(r); });
  return {};
}

long ms(clock_type::duration d) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

} // namespace

int main() {
  auto node = coactor::node::create();
  if (!node)
    return 1;
  auto w = node->spawn(worker);
  std::promise<caf::expected<timings>> done;
  auto result = done.get_future();
  node->spawn(client, w, &done);
  if (result.wait_for(60s) != std::future_status::ready) {
    std::puts("no result within 60 s");
    return 1;
  }
  auto t = result.get();
  if (!t) {
    std::printf("failed: %s\n", coactor::describe(t.error()).c_str());
    return 1;
  }
  std::printf("sequential: %d replies (sum %ld) in %ld ms\n", requests,
              t->sequential_sum, ms(t->sequential));
  std::printf("gathered:   %d replies (sum %ld) in %ld ms\n", requests,
              t->gathered_sum, ms(t->gathered));
  std::printf("speed-up: %.1fx\n",
              static_cast<double>(t->sequential.count())
                  / static_cast<double>(
                      std::max<clock_type::rep>(t->gathered.count(), 1)));
  return 0;
}
