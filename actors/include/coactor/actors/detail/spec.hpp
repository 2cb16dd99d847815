// Internal: what the pipeline builder needs to spawn one level of a pipeline.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>

#include "coactor/actors/policy.hpp"

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

/// Gives a pipeline piece that runs a user's function a restart policy
/// (see `restart_policy`).
template <class Derived>
struct restartable_spec {
  restart_policy restarts;

  /// Returns a copy that restarts its function when it fails, at most
  /// `intensity` times within `period`; then the failure fails the pipeline
  /// (`errc::restart_limit`).
  Derived restart_on_failure(size_t intensity,
                             std::chrono::nanoseconds period
                             = std::chrono::seconds{5}) const {
    auto copy = static_cast<const Derived&>(*this);
    copy.restarts = restart_policy{intensity, period};
    return copy;
  }
};

/// Returns the restart policy of `s` (none for pieces without a function).
template <class Spec>
restart_policy restarts_of(const Spec& s) {
  if constexpr (requires { s.restarts; })
    return s.restarts;
  else
    return {};
}

} // namespace coactor::actors::detail
