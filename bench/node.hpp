// The node of a benchmark: default options, warnings only.
#pragma once

#include <stdexcept>
#include <utility>

#include <coactor/node.hpp>

namespace coactor::bench {

/// Starts a node with default options that logs warnings and errors only;
/// throws `std::runtime_error` when it cannot start.
inline coactor::node quiet_node() {
  coactor::node_options opts;
  opts.log_level = coactor::log::level::warn;
  auto n = coactor::node::create(opts);
  if (!n)
    throw std::runtime_error(coactor::describe(n.error()));
  return std::move(*n);
}

} // namespace coactor::bench
