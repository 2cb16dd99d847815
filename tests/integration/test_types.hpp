// Message types shared by the integration tests and their peer processes.
#pragma once

#include <cstdint>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "coactor/message_types.hpp"

namespace coactor::testing {

struct point {
  int32_t x = 0;
  int32_t y = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("test::point"), p.x, p.y);
}

/// A request the peer's "stall" actor never answers.
using stall_atom = caf::atom_constant<caf::atom("stall")>;

inline void add_test_types(message_types& types) {
  types.add<point>("test::point");
}

} // namespace coactor::testing
