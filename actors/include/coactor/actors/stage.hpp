// coactor::actors stages: map, filter, flat_map and batch, the transforming
// steps between a producer and a consumer.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/timespan.hpp>

#include "coactor/actors/detail/spec.hpp"
#include "coactor/actors/detail/stage_actors.hpp"
#include "coactor/actors/policy.hpp"

namespace coactor::actors {

/// Credit a stage keeps granted upstream (its input window) by default.
inline constexpr size_t default_stage_capacity = 2048;

namespace detail {

template <class R>
struct unwrap_expected {
  using type = R;
};

template <class R>
struct unwrap_expected<caf::expected<R>> {
  using type = R;
};

/// Common parts of the transforming stages: each parallel copy gets its own
/// copy of the function; a function returning `caf::expected` or throwing
/// fails the stage (`errc::stage_failed`, naming it), unless the stage
/// restarts it (`restart_on_failure`).
template <class Derived>
struct transform_spec : named_spec<Derived>, restartable_spec<Derived> {
  size_t stage_capacity = default_stage_capacity;
  size_t batch_limit = 1024;

  [[nodiscard]] size_t capacity() const noexcept { return stage_capacity; }
  [[nodiscard]] overflow_policy policy() const noexcept {
    return overflow_policy::backpressure;
  }
  [[nodiscard]] size_t max_batch() const noexcept { return batch_limit; }

  /// Returns a copy with input window `n` (0 is rejected at run time).
  Derived with_capacity(size_t n) const {
    auto copy = static_cast<const Derived&>(*this);
    copy.stage_capacity = n;
    return copy;
  }
};

/// Returns a processor factory for a stage without state of its own: each
/// processor holds its own copy of `fun` and handles a batch with
/// `step(fun, in, out)`.
template <class In, class Out, class F, class Step>
std::function<processor<In, Out>()> per_item_processor(F fun, Step step) {
  return [fun = std::move(fun), step] {
    processor<In, Out> p;
    p.on_batch = [fun, step](std::vector<In>& in,
                             std::vector<Out>& out) mutable -> caf::error {
      return step(fun, in, out);
    };
    return p;
  };
}

} // namespace detail

/// A stage emitting `f(x)` for each item `x`; `f` may return a
/// `caf::expected<U>` to fail the stage.
template <class F>
struct map_spec : detail::transform_spec<map_spec<F>> {
  explicit map_spec(F f) : fun(std::move(f)) { this->name = "map"; }

  F fun;

  template <class In>
  struct def {
    using out_type = typename detail::unwrap_expected<
        std::decay_t<std::invoke_result_t<F&, In&>>>::type;
  };

  [[nodiscard]] const char* kind() const noexcept { return "map"; }

  template <class In>
  std::function<detail::processor<In, typename def<In>::out_type>()>
  make() const {
    using Out = typename def<In>::out_type;
    return detail::per_item_processor<In, Out>(
        fun,
        [](F& f, std::vector<In>& in, std::vector<Out>& out) -> caf::error {
          out.reserve(in.size());
          for (auto& x : in) {
            if constexpr (std::is_same_v<
                              std::decay_t<std::invoke_result_t<F&, In&>>,
                              caf::expected<Out>>) {
              auto y = f(x);
              if (!y)
                return std::move(y.error());
              out.push_back(std::move(*y));
            } else {
              out.push_back(f(x));
            }
          }
          return {};
        });
  }
};

/// Returns a stage mapping each item through `f`.
template <class F>
map_spec<F> map(F f) {
  return map_spec<F>{std::move(f)};
}

/// A stage keeping the items for which `pred(x)` is true.
template <class F>
struct filter_spec : detail::transform_spec<filter_spec<F>> {
  explicit filter_spec(F f) : fun(std::move(f)) { this->name = "filter"; }

  F fun;

  template <class In>
  struct def {
    using out_type = In;
  };

  [[nodiscard]] const char* kind() const noexcept { return "filter"; }

  template <class In>
  std::function<detail::processor<In, In>()> make() const {
    return detail::per_item_processor<In, In>(
        fun, [](F& f, std::vector<In>& in, std::vector<In>& out) -> caf::error {
          out.reserve(in.size());
          for (auto& x : in)
            if (f(static_cast<const In&>(x)))
              out.push_back(std::move(x));
          return {};
        });
  }
};

/// Returns a stage keeping the items satisfying `pred`.
template <class F>
filter_spec<F> filter(F pred) {
  return filter_spec<F>{std::move(pred)};
}

/// A stage emitting every element of the range `f(x)` for each item `x`.
template <class F>
struct flat_map_spec : detail::transform_spec<flat_map_spec<F>> {
  explicit flat_map_spec(F f) : fun(std::move(f)) { this->name = "flat_map"; }

  F fun;

  template <class In>
  struct def {
    using range_type = std::decay_t<std::invoke_result_t<F&, In&>>;
    using out_type
        = std::decay_t<decltype(*std::begin(std::declval<range_type&>()))>;
  };

  [[nodiscard]] const char* kind() const noexcept { return "flat_map"; }

  template <class In>
  std::function<detail::processor<In, typename def<In>::out_type>()>
  make() const {
    using Out = typename def<In>::out_type;
    return detail::per_item_processor<In, Out>(
        fun,
        [](F& f, std::vector<In>& in, std::vector<Out>& out) -> caf::error {
          for (auto& x : in) {
            auto ys = f(x);
            for (auto& y : ys)
              out.push_back(std::move(y));
          }
          return {};
        });
  }
};

/// Returns a stage flattening the ranges `f` returns.
template <class F>
flat_map_spec<F> flat_map(F f) {
  return flat_map_spec<F>{std::move(f)};
}

/// A stage grouping items into vectors of `size` items; a partial group is
/// emitted when its first item waited `max_delay` (if non-zero) and at the
/// end of the stream.
struct batch_spec : detail::transform_spec<batch_spec> {
  size_t size = 1;
  caf::timespan max_delay{0};

  template <class In>
  struct def {
    using out_type = std::vector<In>;
  };

  [[nodiscard]] const char* kind() const noexcept { return "batch"; }

  template <class In>
  std::function<detail::processor<In, std::vector<In>>()> make() const {
    return [n = size, delay = max_delay] {
      auto partial = std::make_shared<std::vector<In>>();
      detail::processor<In, std::vector<In>> p;
      p.on_batch = [n, partial](std::vector<In>& in,
                                std::vector<std::vector<In>>& out) {
        for (auto& x : in) {
          partial->push_back(std::move(x));
          if (partial->size() == n) {
            out.push_back(std::move(*partial));
            partial->clear();
          }
        }
        return caf::error{};
      };
      p.flush = [partial](std::vector<std::vector<In>>& out) {
        if (!partial->empty()) {
          out.push_back(std::move(*partial));
          partial->clear();
        }
      };
      p.max_delay = delay;
      return p;
    };
  }
};

/// Returns a stage grouping items into vectors of `n` (`n` = 0 is rejected
/// at run time), flushing partial groups after `max_delay` when non-zero.
inline batch_spec batch(size_t n, caf::timespan max_delay = caf::timespan{0}) {
  batch_spec s;
  s.name = "batch";
  s.size = n;
  s.max_delay = max_delay;
  return s;
}

} // namespace coactor::actors
