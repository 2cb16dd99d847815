// Private: the node's metrics service, started with the node.
#pragma once

#include <caf/error.hpp>

namespace coactor {
class node;
} // namespace coactor

namespace coactor::metrics::detail {

/// Creates `n`'s registry with the built-in node metrics and, when
/// `metrics_port` is set, serves `/metrics` on it. Errors: those of
/// `http::serve` (e.g. `errc::io_error` when the port is taken).
caf::error start_node_metrics(node& n);

} // namespace coactor::metrics::detail
