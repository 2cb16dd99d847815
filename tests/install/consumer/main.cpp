// Uses an installed coactor: a node, an actor, a request, the reply printed.
#include <iostream>

#include <caf/all.hpp>
#include <coactor/error.hpp>
#include <coactor/node.hpp>

int main() {
  coactor::node_options opts;
  opts.name = "consumer";
  auto node = coactor::node::create(opts);
  if (!node) {
    std::cerr << coactor::describe(node.error()) << '\n';
    return 1;
  }
  auto doubler = node->spawn([]() -> caf::behavior {
    return {[](int x) {
      return 2 * x;
    }};
  });
  int rc = 1;
  { // the blocking scoped actor must be gone before the node stops
    caf::scoped_actor self{node->system()};
    self->request(doubler, std::chrono::seconds{5}, 21)
        .receive(
            [&](int y) {
              std::cout << "consumer: 21 * 2 = " << y << '\n';
              rc = y == 42 ? 0 : 1;
            },
            [&](caf::error& err) {
              std::cerr << coactor::describe(err) << '\n';
            });
  }
  return node->stop().clean() ? rc : 1;
}
