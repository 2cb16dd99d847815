// coactor::actors::buffer: a bounded buffer stage with an overflow policy.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "coactor/actors/detail/spec.hpp"
#include "coactor/actors/detail/stage_actors.hpp"
#include "coactor/actors/policy.hpp"

namespace coactor::actors {

/// Options of a buffer stage.
struct buffer_options {
  /// Items it holds at most (plus the credit it granted never exceeds
  /// this). 0 is rejected when the pipeline runs (`errc::invalid_argument`).
  size_t capacity = 1024;
  /// What happens when a push source overfills it.
  overflow_policy policy = overflow_policy::backpressure;
  /// The stage name.
  std::string name = "buffer";
  /// The largest batch it sends downstream.
  size_t max_batch = 1024;
};

/// A bounded FIFO between two stages: it decouples their speeds while memory
/// stays bounded by `capacity`. The summary reports its drops and its
/// high-water mark (the most items it ever held).
struct buffer_spec : detail::named_spec<buffer_spec> {
  buffer_options options;

  template <class In>
  struct def {
    using out_type = In;
  };

  template <class In>
  std::function<detail::processor<In, In>()> make() const {
    return &detail::pass_through<In>;
  }

  [[nodiscard]] const char* kind() const noexcept { return "buffer"; }
  [[nodiscard]] size_t capacity() const noexcept { return options.capacity; }
  [[nodiscard]] overflow_policy policy() const noexcept {
    return options.policy;
  }
  [[nodiscard]] size_t max_batch() const noexcept { return options.max_batch; }
};

/// Returns a buffer stage: `.via(buffer({.capacity = 1024}))`.
inline buffer_spec buffer(buffer_options opts = {}) {
  buffer_spec s;
  s.name = opts.name;
  s.options = std::move(opts);
  return s;
}

} // namespace coactor::actors
