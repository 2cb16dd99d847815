// The receiving node of the streaming example: a pipeline that starts with
// an inlet published as "orders", buffers, and totals the orders it gets
// from the producer node's pipeline (credit flows back over the network, so
// a slow consumer slows the producer down). Run it first:
//   example_distributed_stream_consumer --port 0     (prints the port)
#include <cstdint>
#include <future>
#include <iostream>
#include <memory>
#include <span>

#include "coactor/actors/pipeline.hpp"
#include "coactor/actors/remote.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "order.hpp"

using namespace coactor::actors;

int main(int argc, char** argv) {
  coactor::node_options base;
  base.name = "stream-consumer";
  base.port = 0; // --port overrides
  auto opts = coactor::node_options::from_args(
      std::span<const char* const>{argv + 1, static_cast<size_t>(argc - 1)},
      base);
  if (!opts) {
    std::cerr << coactor::describe(opts.error()) << '\n';
    return 2;
  }
  register_item_type<example::order>(opts->types, "example::order");
  auto n = coactor::node::create(*opts);
  if (!n) {
    std::cerr << coactor::describe(n.error()) << '\n';
    return 1;
  }
  auto total = std::make_shared<int64_t>(0); // one consumer copy: no lock
  auto run = pipeline(*n)
                 .from(inlet<example::order>("orders"))
                 .via(buffer({.capacity = 256}))
                 .to(for_each(
                     [total](const example::order& x) { *total += x.cents; }));
  auto done = std::make_shared<std::promise<caf::expected<pipeline_summary>>>();
  auto result = done->get_future();
  // Starting publishes the inlet: the producer can look it up from now on.
  auto started = run.start([done](caf::expected<pipeline_summary> s) {
    done->set_value(std::move(s));
  });
  if (!started) {
    std::cerr << coactor::describe(started.error()) << '\n';
    return 1;
  }
  std::cout << "stream consumer: listening on " << opts->host << ':'
            << *coactor::remote::port(*n) << std::endl;
  auto summary = result.get();
  if (!summary) {
    std::cerr << "stream consumer: " << coactor::describe(summary.error())
              << '\n';
    return 1;
  }
  std::cout << "stream consumer: received " << summary->consumed
            << " orders, total " << *total << " cents\n"
            << summary->to_string() << std::flush;
  return 0;
}
