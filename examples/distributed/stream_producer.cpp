// The sending node of the streaming example: connects to the consumer node,
// looks up its inlet "orders" and runs a pipeline that makes orders and ends
// in an outlet to that inlet:
//   example_distributed_stream_producer --peer-port PORT [--peer-host HOST]
//   [--orders N]
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "coactor/actors/pipeline.hpp"
#include "coactor/actors/remote.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "order.hpp"

using namespace coactor::actors;

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  uint32_t orders = 10'000;
  std::vector<const char*> rest;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--peer-host" && i + 1 < argc)
      host = argv[++i];
    else if (arg == "--peer-port" && i + 1 < argc)
      port = static_cast<uint16_t>(std::stoi(argv[++i]));
    else if (arg == "--orders" && i + 1 < argc)
      orders = static_cast<uint32_t>(std::stoul(argv[++i]));
    else
      rest.push_back(argv[i]);
  }
  if (port == 0) {
    std::cerr << "usage: example_distributed_stream_producer --peer-port PORT "
                 "[--peer-host HOST] [--orders N] [node options]\n";
    return 2;
  }
  coactor::node_options base;
  base.name = "stream-producer";
  base.networking = true;
  auto opts = coactor::node_options::from_args(rest, base);
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
  // Blocking connect and lookup: fine in main, never inside an actor.
  auto peer = coactor::remote::connect(*n, host, port, {.attempts = 10});
  if (!peer) {
    std::cerr << coactor::describe(peer.error()) << '\n';
    return 1;
  }
  auto inlet_hdl = coactor::remote::lookup(*n, *peer, "orders");
  if (!inlet_hdl) {
    std::cerr << coactor::describe(inlet_hdl.error()) << '\n';
    return 1;
  }
  uint32_t next = 0;
  auto make_order = [next, orders]() mutable -> std::optional<example::order> {
    if (next == orders)
      return std::nullopt;
    ++next;
    return example::order{next, "item-" + std::to_string(next), 100 + next};
  };
  auto summary = pipeline(*n)
                     .from(from_function(make_order))
                     .via(buffer({.capacity = 256}))
                     .to(outlet<example::order>(*inlet_hdl, "orders"))
                     .run();
  if (!summary) {
    std::cerr << "stream producer: " << coactor::describe(summary.error())
              << '\n';
    return 1;
  }
  std::cout << "stream producer: sent " << summary->consumed
            << " orders to node " << peer->describe() << std::endl;
  return 0;
}
