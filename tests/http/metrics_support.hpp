// Test helpers for the node's observability server: a node serving it on a
// free port, and a temporary directory.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include <catch2/catch.hpp>

#include "coactor/metrics.hpp"
#include "coactor/node.hpp"

namespace coactor::testing {

/// A node of two threads serving its metrics and status on a free port.
inline coactor::node make_metrics_node(coactor::node_options opts = {}) {
  opts.threads = 2;
  opts.metrics_port = 0;
  opts.log_level = coactor::log::level::error;
  auto n = coactor::node::create(opts);
  REQUIRE(n);
  REQUIRE(coactor::metrics::endpoint_port(*n));
  return std::move(*n);
}

/// A temporary directory, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    auto tmpl
        = (std::filesystem::temp_directory_path() / "coactor-metrics-XXXXXX")
              .string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

} // namespace coactor::testing
