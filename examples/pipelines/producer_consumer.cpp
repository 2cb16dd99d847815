// The seed's model: a producer, a bounded buffer and a consumer, each an
// actor; credit from the consumer paces the producer through the buffer.
#include <cstdint>
#include <iostream>

#include <coactor/actors/pipeline.hpp>
#include <coactor/error.hpp>
#include <coactor/node.hpp>

using namespace coactor;
using namespace coactor::actors;

int main() {
  node_options opts;
  opts.name = "producer-consumer";
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto node = node::create(opts);
  if (!node) {
    std::cerr << describe(node.error()) << '\n';
    return 1;
  }
  constexpr int items = 100'000;
  uint64_t sum = 0; // touched only by the (single) consumer actor
  auto result
      = pipeline(*node)
            .from(iota(1, items + 1))
            .via(buffer({.capacity = 1000}))
            .to(for_each([&sum](int x) { sum += static_cast<uint64_t>(x); }))
            .run();
  if (!result) {
    std::cerr << "pipeline failed: " << describe(result.error()) << '\n';
    return 1;
  }
  std::cout << result->to_string();
  std::cout << "consumed " << result->consumed << " items, sum " << sum << '\n';
  auto expected = static_cast<uint64_t>(items) * (items + 1) / 2;
  return sum == expected && node->stop().clean() ? 0 : 1;
}
