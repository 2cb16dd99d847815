// Fan-out and fan-in: two producers merge into four parallel squaring
// stages (round robin), whose results merge back into one consumer.
#include <cstdint>
#include <iostream>

#include <coactor/actors/pipeline.hpp>
#include <coactor/error.hpp>
#include <coactor/node.hpp>

using namespace coactor;
using namespace coactor::actors;

int main() {
  node_options opts;
  opts.name = "fan-out-fan-in";
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto node = node::create(opts);
  if (!node) {
    std::cerr << describe(node.error()) << '\n';
    return 1;
  }
  uint64_t sum = 0;
  uint64_t count = 0;
  auto result
      = pipeline(*node)
            .from(merge(iota<int64_t>(0, 50'000).named("evens-source"),
                        iota<int64_t>(50'000, 100'000).named("odds-source")))
            .via(buffer({.capacity = 512}))
            .via(map([](int64_t x) { return x * x; }).named("square"),
                 parallel(4))
            .to(for_each([&](int64_t y) {
              sum += static_cast<uint64_t>(y);
              ++count;
            }))
            .run();
  if (!result) {
    std::cerr << "pipeline failed: " << describe(result.error()) << '\n';
    return 1;
  }
  std::cout << result->to_string();
  // sum of x^2 for x in [0, 100000) = (n-1)n(2n-1)/6
  uint64_t n = 100'000;
  auto expected = (n - 1) * n * (2 * n - 1) / 6;
  std::cout << "fan-in: " << count << " squares, sum " << sum
            << (sum == expected ? " (correct)" : " (WRONG)") << '\n';
  return sum == expected && node->stop().clean() ? 0 : 1;
}
