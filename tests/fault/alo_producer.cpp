// The producer node of the producer kill -9 fault test: streams the integers
// 0 .. `--items N` - 1 through an at-least-once outlet to the inlet
// "numbers" of the consumer node on 127.0.0.1:`--to PORT`, committing to
// `--offsets FILE` how many of them the consumer's sink consumed
// (producer::commit_to) and, when FILE holds a count, resuming after it
// (skip). Other arguments are node options. Prints "committed N" (what it
// resumes after), then "sending to HOST:PORT" once its pipeline started;
// exits 0 when the
// stream ended, 1 if it failed. Made to be killed with SIGKILL mid-stream and
// started again with the same arguments.
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
  int64_t items = 0;
  std::string offsets;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--to") == 0 && i + 1 < argc)
      to_port = std::stol(argv[++i]);
    else if (std::strcmp(argv[i], "--items") == 0 && i + 1 < argc)
      items = std::stoll(argv[++i]);
    else if (std::strcmp(argv[i], "--offsets") == 0 && i + 1 < argc)
      offsets = argv[++i];
    else
      args.push_back(argv[i]);
  }
  node_options base;
  base.name = "producer";
  base.networking = true;
  base.threads = 2;
  base.log_level = log::level::error;
  auto opts = node_options::from_args(args, base);
  if (!opts || to_port <= 0 || to_port > 65535 || items <= 0
      || offsets.empty()) {
    std::cerr << "alo producer: "
              << (opts ? "--to PORT, --items N and --offsets FILE are required"
                       : describe(opts.error()))
              << '\n';
    return 2;
  }
  auto done_before = committed(offsets);
  if (!done_before) {
    std::cerr << "alo producer: " << describe(done_before.error()) << '\n';
    return 1;
  }
  std::cout << "committed " << *done_before << std::endl;
  register_item_type<int64_t>(opts->types, "int64");
  auto n = node::create(*opts);
  if (!n) {
    std::cerr << "alo producer: " << describe(n.error()) << '\n';
    return 1;
  }
  auto port16 = static_cast<uint16_t>(to_port);
  remote::connect_options copts;
  copts.attempts = 20;
  auto peer = remote::connect(*n, "127.0.0.1", port16, copts);
  auto inlet = peer ? remote::lookup(*n, *peer, "numbers")
                    : caf::expected<caf::actor>{peer.error()};
  if (!inlet) {
    std::cerr << "alo producer: " << describe(inlet.error()) << '\n';
    return 1;
  }
  std::promise<caf::expected<pipeline_summary>> done;
  auto started = pipeline(*n)
                     .from(iota<int64_t>(0, items)
                               .skip(*done_before)
                               .commit_to(offsets, *done_before,
                                          std::chrono::milliseconds{5}))
                     .to(outlet<int64_t>(*inlet, "numbers")
                             .at_least_once("127.0.0.1", port16,
                                            std::chrono::seconds{30}))
                     .start([&done](caf::expected<pipeline_summary> r) {
                       done.set_value(std::move(r));
                     });
  if (!started) {
    std::cerr << "alo producer: " << describe(started.error()) << '\n';
    return 1;
  }
  std::cout << "sending to 127.0.0.1:" << to_port << std::endl;
  auto r = done.get_future().get();
  if (!r) {
    std::cerr << "alo producer: " << describe(r.error()) << '\n';
    return 1;
  }
  std::cout << r->to_string() << std::flush;
  return 0;
}
