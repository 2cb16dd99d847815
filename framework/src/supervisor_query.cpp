// coactor::supervision: the blocking queries of a supervisor, for main and
// tests.
#include <caf/scoped_actor.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/supervisor.hpp"
#include "node_context.hpp"

namespace coactor::supervision {

namespace {

// Sends `xs` to `sup` and waits for one reply of type `T`.
template <class T, class... Ts>
caf::expected<T> blocking_ask(node& n, const caf::actor& sup,
                              std::chrono::milliseconds timeout,
                              const char* what, Ts... xs) {
  if (!n.running())
    return make_error(errc::node_stopped,
                      std::string{what} + ": the node is not running");
  if (!sup)
    return make_error(errc::target_down,
                      std::string{what} + ": invalid supervisor handle");
  caf::expected<T> result{caf::sec::none};
  {
    caf::scoped_actor self{n.system(), true};
    self->request(sup, timeout, xs...)
        .receive([&](T& x) { result = std::move(x); },
                 [&](caf::error& err) {
                   result
                       = coactor::detail::map_reply_error(std::move(err), what);
                 });
  }
  coactor::detail::release_thread();
  return result;
}

} // namespace

caf::expected<caf::actor> child(node& n, const caf::actor& sup,
                                std::string name,
                                std::chrono::milliseconds timeout) {
  return blocking_ask<caf::actor>(n, sup, timeout, "supervision::child",
                                  caf::get_atom::value, std::move(name));
}

caf::expected<std::vector<child_status>>
children(node& n, const caf::actor& sup, std::chrono::milliseconds timeout) {
  return blocking_ask<std::vector<child_status>>(
      n, sup, timeout, "supervision::children", caf::get_atom::value);
}

} // namespace coactor::supervision
