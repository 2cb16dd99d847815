// The middle node of the kill -9 fault tests: publishes the inlet "numbers"
// (int64 items, from the producer's at-least-once outlet), passes every
// item through a map stage and sends it on with an at-least-once outlet to
// the inlet "numbers" of the consumer node on 127.0.0.1:`--to PORT`.
// `--rejoin MS` is its inlet's inlet_options::rejoin. Other arguments are
// node options (`--port`). Prints "listening on HOST:PORT" once its inlet is
// published; exits 0 when the stream ended, 1 if it failed. Made to be
// killed with SIGKILL mid-stream and started again on the same port.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "coactor/actors/remote.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"

using namespace coactor;
using namespace coactor::actors;

int main(int argc, char** argv) {
  std::vector<const char*> args;
  long to_port = 0;
  long rejoin_ms = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--to") == 0 && i + 1 < argc)
      to_port = std::stol(argv[++i]);
    else if (std::strcmp(argv[i], "--rejoin") == 0 && i + 1 < argc)
      rejoin_ms = std::stol(argv[++i]);
    else
      args.push_back(argv[i]);
  }
  node_options base;
  base.name = "relay";
  base.threads = 2;
  base.log_level = log::level::error;
  auto opts = node_options::from_args(args, base);
  if (!opts || to_port <= 0 || to_port > 65535) {
    std::cerr << "alo relay: "
              << (opts ? "--to PORT is required" : describe(opts.error()))
              << '\n';
    return 2;
  }
  register_item_type<int64_t>(opts->types, "int64");
  auto n = node::create(*opts);
  if (!n) {
    std::cerr << "alo relay: " << describe(n.error()) << '\n';
    return 1;
  }
  auto port16 = static_cast<uint16_t>(to_port);
  remote::connect_options copts;
  copts.attempts = 20;
  auto peer = remote::connect(*n, "127.0.0.1", port16, copts);
  auto next = peer ? remote::lookup(*n, *peer, "numbers")
                   : caf::expected<caf::actor>{peer.error()};
  if (!next) {
    std::cerr << "alo relay: " << describe(next.error()) << '\n';
    return 1;
  }
  inlet_options in_opts;
  in_opts.capacity = 8192;
  in_opts.rejoin = std::chrono::milliseconds{rejoin_ms};
  std::promise<caf::expected<pipeline_summary>> done;
  auto started = pipeline(*n)
                     .from(inlet<int64_t>("numbers", in_opts))
                     .via(map([](int64_t x) { return x; }))
                     .to(outlet<int64_t>(*next, "numbers")
                             .at_least_once("127.0.0.1", port16,
                                            std::chrono::seconds{30}))
                     .start([&done](caf::expected<pipeline_summary> r) {
                       done.set_value(std::move(r));
                     });
  auto port = remote::port(*n);
  if (!started || !port) {
    std::cerr << "alo relay: "
              << describe(started ? port.error() : started.error()) << '\n';
    return 1;
  }
  std::cout << "listening on " << opts->host << ':' << *port << std::endl;
  auto r = done.get_future().get();
  if (!r) {
    std::cerr << "alo relay: " << describe(r.error()) << '\n';
    return 1;
  }
  std::cout << r->to_string() << std::flush;
  return 0;
}
