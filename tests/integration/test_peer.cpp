// A node for the integration tests: publishes "echo" (replies with the
// request), "stall" (never answers `stall`) and "mirror" (swaps a point's
// coordinates; needs test::point registered). Arguments are node options
// (`--port 0`, `--tls-...`), plus `--without-point` to leave test::point
// unregistered. Prints "listening on HOST:PORT" and runs until SIGTERM.
#include <cstring>
#include <iostream>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "test_types.hpp"

using namespace coactor;
using coactor::testing::point;
using coactor::testing::stall_atom;

namespace {

caf::behavior echo(caf::event_based_actor* self) {
  self->set_default_handler(caf::reflect);
  return {[](stall_atom) {
  }};
}

struct stall_state {
  std::vector<caf::response_promise> pending;
};

caf::behavior stall(caf::stateful_actor<stall_state>* self) {
  return {[self](stall_atom) {
    self->state.pending.push_back(self->make_response_promise());
  }};
}

caf::behavior mirror() {
  return {[](const point& p) {
    return point{p.y, p.x};
  }};
}

} // namespace

int main(int argc, char** argv) {
  std::vector<const char*> args;
  bool with_point = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--without-point") == 0)
      with_point = false;
    else
      args.push_back(argv[i]);
  }
  node_options base;
  base.name = "peer";
  base.threads = 2;
  base.log_level = log::level::warn;
  auto opts = node_options::from_args(args, base);
  if (!opts) {
    std::cerr << "test peer: " << describe(opts.error()) << '\n';
    return 2;
  }
  opts->handle_signals = true;
  if (with_point)
    coactor::testing::add_test_types(opts->types);
  auto n = node::create(*opts);
  if (!n) {
    std::cerr << "test peer: " << describe(n.error()) << '\n';
    return 1;
  }
  for (auto err : {remote::publish(*n, "echo", n->spawn(echo)),
                   remote::publish(*n, "stall", n->spawn(stall)),
                   remote::publish(*n, "mirror", n->spawn(mirror))})
    if (err) {
      std::cerr << "test peer: " << describe(err) << '\n';
      return 1;
    }
  auto port = remote::port(*n);
  if (!port) {
    std::cerr << "test peer: " << describe(port.error()) << '\n';
    return 1;
  }
  std::cout << "listening on " << opts->host << ':' << *port << std::endl;
  n->wait_for_stop();
  n->stop();
  std::cout << "stopped" << std::endl;
  return 0;
}
