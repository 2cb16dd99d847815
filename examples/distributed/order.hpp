// The message types both example nodes register: an order, and the atoms.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "coactor/message_types.hpp"

namespace example {

struct order {
  uint32_t id = 0;
  std::string item;
  int64_t cents = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order& x) {
  return f(caf::meta::type_name("example::order"), x.id, x.item, x.cents);
}

using done_atom = caf::atom_constant<caf::atom("done")>;

/// Registers the example's types; both nodes call it.
inline void add_types(coactor::message_types& types) {
  types.add<order>("example::order");
}

} // namespace example
