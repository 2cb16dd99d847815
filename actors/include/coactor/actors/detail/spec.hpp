// Internal: what the pipeline builder needs to spawn one level of a pipeline.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

namespace coactor::actors::detail {

/// Gives a pipeline piece its stage name (used in summaries and errors).
template <class Derived>
struct named_spec {
  /// The stage name; parallel copies append "[i]".
  std::string name;

  /// Returns a copy of this piece named `n`.
  Derived named(std::string n) const& {
    auto copy = static_cast<const Derived&>(*this);
    copy.name = std::move(n);
    return copy;
  }

  /// Returns this piece named `n`.
  Derived named(std::string n) && {
    name = std::move(n);
    return std::move(static_cast<Derived&>(*this));
  }
};

} // namespace coactor::actors::detail
