// coactor::actors::producer: the sources of a pipeline (a function, a range,
// integers, the lines of a file, a periodic timer).
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/timespan.hpp>

#include "coactor/actors/detail/spec.hpp"
#include "coactor/actors/detail/stage_actors.hpp"

namespace coactor::actors {

/// How a producer emits.
struct producer_options {
  /// The largest batch it sends (items per message).
  size_t max_batch = 1024;
  /// Ignore credit and emit as fast as the source yields: for sources that
  /// cannot wait (sensors, timers). Put a buffer with a drop policy behind it.
  bool push = false;
  /// When non-zero: one generation step per period (a timer source).
  caf::timespan period{0};
};

/// A pipeline source of items of type `T`: a description that the pipeline
/// builder turns into one producer actor per run. The generator it wraps
/// runs inside that actor (never concurrently with itself); it may return an
/// error or throw, which fails the stage (`errc::stage_failed`, naming it).
template <class T>
struct producer : detail::named_spec<producer<T>> {
  using value_type = T;
  producer_options options;
  /// Called once per run, in the producer actor, to make its generator.
  std::function<detail::generator<T>()> make;
};

/// Makes a producer from `make()`, which returns a fresh bulk generator
/// `bool g(std::vector<T>& out, size_t max)`: append up to `max` items and
/// return whether more may follow (or a `caf::expected<bool>` to fail). The
/// fastest kind of source.
template <class T, class Make>
producer<T> from_generator(Make make, producer_options opts = {}) {
  producer<T> p;
  p.name = "producer";
  p.options = opts;
  p.make = [make = std::move(make)]() -> detail::generator<T> {
    auto g = make();
    return [g = std::move(g)](std::vector<T>& out,
                              size_t max) mutable -> caf::expected<bool> {
      return g(out, max);
    };
  };
  return p;
}

/// Makes a producer calling `f()` for each item until it returns an empty
/// `std::optional`. `f` is copied into the actor.
template <class F, class T = typename std::invoke_result_t<F&>::value_type>
producer<T> from_function(F f, producer_options opts = {}) {
  return from_generator<T>(
      [f]() {
        return [f](std::vector<T>& out, size_t max) mutable {
          for (size_t i = 0; i < max; ++i) {
            auto x = f();
            if (!x)
              return false;
            out.push_back(std::move(*x));
          }
          return true;
        };
      },
      opts);
}

/// Makes a producer emitting the elements of `range` (copied in) in order.
template <class Range,
          class T = std::decay_t<decltype(*std::begin(std::declval<Range&>()))>>
producer<T> from_range(Range range, producer_options opts = {}) {
  auto shared = std::make_shared<const Range>(std::move(range));
  return from_generator<T>(
      [shared]() {
        return [shared, it = std::begin(*shared)](std::vector<T>& out,
                                                  size_t max) mutable {
          auto last = std::end(*shared);
          for (size_t i = 0; i < max && it != last; ++i, ++it)
            out.push_back(*it);
          return it != last;
        };
      },
      opts);
}

/// Makes a producer emitting `first, first + 1, ..., last - 1`.
template <class T = int>
producer<T> iota(T first, T last, producer_options opts = {}) {
  return from_generator<T>(
      [first, last]() {
        return [next = first, last](std::vector<T>& out, size_t max) mutable {
          out.reserve(max);
          for (size_t i = 0; i < max && next < last; ++i)
            out.push_back(next++);
          return next < last;
        };
      },
      opts);
}

/// Makes a producer emitting the lines of the text file at `path` (without
/// their line ends). A file that cannot be opened fails the stage with
/// `errc::invalid_argument` naming the path.
producer<std::string> from_lines(std::string path, producer_options opts = {});

/// Makes a timer source: every `period`, `f(tick)` (tick = 0, 1, ...) yields
/// the next item, or an empty optional to end the stream. A push source: it
/// ignores credit, so put a buffer with a drop policy behind it.
template <class F,
          class T = typename std::invoke_result_t<F&, uint64_t>::value_type>
producer<T> every(caf::timespan period, F f) {
  producer_options opts;
  opts.push = true;
  opts.period = period;
  opts.max_batch = 1;
  auto p = from_generator<T>(
      [f]() {
        return [f, tick = uint64_t{0}](std::vector<T>& out, size_t) mutable {
          auto x = f(tick++);
          if (!x)
            return false;
          out.push_back(std::move(*x));
          return true;
        };
      },
      opts);
  p.name = "timer";
  return p;
}

} // namespace coactor::actors
