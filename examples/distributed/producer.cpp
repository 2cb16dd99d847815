// The producer node of the distributed example: connects to the consumer
// node, looks up its "sink" and sends it orders from a coroutine, awaiting
// each acknowledgement:
//   example_distributed_producer --peer-port PORT [--peer-host HOST] [--orders
//   N]
#include <cstring>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote_await.hpp"
#include "coactor/start.hpp"
#include "coactor/task.hpp"
#include "order.hpp"

using namespace std::chrono_literals;

namespace {

struct job {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  uint32_t orders = 100;
};

coactor::task<int64_t> produce(caf::event_based_actor* self, job j) {
  coactor::remote::connect_options opts;
  opts.attempts = 10; // the consumer may still be starting
  auto peer
      = co_await coactor::remote::await_connect(self, j.host, j.port, opts);
  if (!peer)
    co_return peer.error();
  auto sink = co_await coactor::remote::await_lookup(self, *peer, "sink");
  if (!sink)
    co_return sink.error();
  int64_t total = 0;
  for (uint32_t i = 1; i <= j.orders; ++i) {
    example::order x{i, "item-" + std::to_string(i), 100 + i};
    auto ack = co_await coactor::remote::await_ask<int64_t>(self, *sink, 5s, x);
    if (!ack)
      co_return ack.error();
    total = *ack;
  }
  auto count = co_await coactor::remote::await_ask<uint32_t>(
      self, *sink, 5s, example::done_atom::value);
  if (!count)
    co_return count.error();
  std::cout << "producer: sent " << *count << " orders to node "
            << peer->describe() << ", consumer total " << total << " cents"
            << std::endl;
  co_return total;
}

} // namespace

int main(int argc, char** argv) {
  job j;
  std::vector<const char*> rest;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--peer-host" && i + 1 < argc)
      j.host = argv[++i];
    else if (arg == "--peer-port" && i + 1 < argc)
      j.port = static_cast<uint16_t>(std::stoi(argv[++i]));
    else if (arg == "--orders" && i + 1 < argc)
      j.orders = static_cast<uint32_t>(std::stoul(argv[++i]));
    else
      rest.push_back(argv[i]);
  }
  if (j.port == 0) {
    std::cerr << "usage: example_distributed_producer --peer-port PORT "
                 "[--peer-host HOST] [--orders N] [node options]\n";
    return 2;
  }
  coactor::node_options base;
  base.name = "producer";
  base.networking = true;
  auto opts = coactor::node_options::from_args(rest, base);
  if (!opts) {
    std::cerr << coactor::describe(opts.error()) << '\n';
    return 2;
  }
  example::add_types(opts->types);
  auto n = coactor::node::create(*opts);
  if (!n) {
    std::cerr << coactor::describe(n.error()) << '\n';
    return 1;
  }
  std::promise<caf::expected<int64_t>> done;
  auto result = done.get_future();
  n->spawn([&done, j](caf::event_based_actor* self) {
    coactor::start(self, produce(self, j),
                   [&done](caf::expected<int64_t> x) { done.set_value(x); });
  });
  auto total = result.get();
  if (!total) {
    std::cerr << "producer: " << coactor::describe(total.error()) << '\n';
    return 1;
  }
  return 0;
}
