// Test helper: options of an in-process networked node.
#pragma once

#include <string>
#include <utility>

#include "coactor/node_options.hpp"

namespace coactor::testing {

/// A node of two threads logging warnings; `listen` gives it a port picked
/// by the system, otherwise it only connects.
inline node_options net_options(std::string name, bool listen = true) {
  node_options opts;
  opts.name = std::move(name);
  opts.threads = 2;
  opts.log_level = log::level::warn;
  if (listen)
    opts.port = 0;
  else
    opts.networking = true;
  return opts;
}

} // namespace coactor::testing
