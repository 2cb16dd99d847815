// The nodes of the at-least-once benchmarks: pipelines of int64 items, on
// one node or across two in the same process.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <utility>

#include <coactor/actors/remote.hpp>
#include <coactor/node.hpp>

namespace coactor::bench {

/// Starts a node of two scheduler threads for pipelines of `int64_t` that
/// logs errors only: it listens on a free port when `listen`, else it may
/// connect to others. Throws `std::runtime_error` when it cannot start.
inline coactor::node int64_stream_node(const char* name, bool listen) {
  coactor::node_options opts;
  opts.name = name;
  opts.threads = 2;
  opts.log_level = coactor::log::level::error;
  if (listen)
    opts.port = 0;
  else
    opts.networking = true;
  coactor::actors::register_item_type<int64_t>(opts.types, "int64");
  auto n = coactor::node::create(opts);
  if (!n)
    throw std::runtime_error(coactor::describe(n.error()));
  return std::move(*n);
}

} // namespace coactor::bench
