// The consumer node of the distributed example: publishes "sink", which
// acknowledges orders with the running total, and stops the node when the
// producer says it is done. Run it first:
//   example_distributed_consumer --port 0     (prints the port)
#include <iostream>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "order.hpp"

namespace {

struct sink_state {
  int64_t total = 0;
  uint32_t count = 0;
};

caf::behavior sink(caf::stateful_actor<sink_state>* self, coactor::node* n) {
  return {
      [self](const example::order& x) {
        self->state.total += x.cents;
        ++self->state.count;
        return self->state.total;
      },
      [self, n](example::done_atom) {
        std::cout << "consumer: received " << self->state.count
                  << " orders, total " << self->state.total << " cents"
                  << std::endl;
        n->request_stop(); // safe from an actor: does not wait
        return self->state.count;
      },
  };
}

} // namespace

int main(int argc, char** argv) {
  coactor::node_options base;
  base.name = "consumer";
  base.port = 0; // --port overrides
  auto opts = coactor::node_options::from_args(
      std::span<const char* const>{argv + 1, static_cast<size_t>(argc - 1)},
      base);
  if (!opts) {
    std::cerr << coactor::describe(opts.error()) << '\n';
    return 2;
  }
  opts->handle_signals = true;
  example::add_types(opts->types);
  auto n = coactor::node::create(*opts);
  if (!n) {
    std::cerr << coactor::describe(n.error()) << '\n';
    return 1;
  }
  auto& nd = *n;
  if (auto err = coactor::remote::publish(nd, "sink", nd.spawn(sink, &nd))) {
    std::cerr << coactor::describe(err) << '\n';
    return 1;
  }
  std::cout << "consumer: listening on " << opts->host << ':'
            << *coactor::remote::port(nd) << std::endl;
  nd.wait_for_stop();
  nd.stop();
  return 0;
}
