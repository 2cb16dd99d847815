// Test helper: runs a pipeline to completion on the deterministic scheduler.
#pragma once

#include <optional>
#include <utility>

#include <caf/expected.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/error.hpp"
#include "support/deterministic.hpp"

namespace coactor::testing {

/// Starts `p`, runs `fx`'s scheduler until idle and returns the pipeline's
/// result (`errc::timeout` when it did not complete by then).
inline caf::expected<actors::pipeline_summary>
run_deterministic(deterministic_fixture& fx,
                  const actors::runnable_pipeline& p) {
  std::optional<caf::expected<actors::pipeline_summary>> result;
  auto started = p.start([&](caf::expected<actors::pipeline_summary> r) {
    result = std::move(r);
  });
  if (!started)
    return started.error();
  fx.run();
  if (!result)
    return make_error(errc::timeout, "pipeline did not complete");
  return std::move(*result);
}

} // namespace coactor::testing
