// The README's minimal example: a node, an actor, a request, the reply printed.
#include <caf/all.hpp>
#include <coactor/node.hpp>
#include <iostream>

int main() {
  auto node = coactor::node::create(); // RAII: stops in its destructor
  if (!node)
    return 1;
  auto greeter = node->spawn([]() -> caf::behavior {
    return {[](const std::string& who) {
      return "hello, " + who;
    }};
  });
  caf::scoped_actor self{node->system()}; // blocking: fine in main
  self->request(greeter, std::chrono::seconds{1}, std::string{"world"})
      .receive([](const std::string& reply) { std::cout << reply << '\n'; },
               [](caf::error&) { std::cout << "no reply\n"; });
}
