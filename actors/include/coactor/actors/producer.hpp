// coactor::actors::producer: the sources of a pipeline (a function, a range,
// integers, the lines of a file, a periodic timer).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
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
  /// Set by `commit_to`.
  detail::commit_options commit;

  /// Drops the first `n` items the generator yields: a source that replays
  /// from its start (a file's lines) resumes after what an earlier run
  /// committed (`commit_to`, `committed`). Skipping runs in the producer
  /// actor, a bounded amount per message like generating.
  producer skip(uint64_t n) && {
    if (n == 0)
      return std::move(*this);
    make = [inner = std::move(make), n]() -> detail::generator<T> {
      return
          [g = inner(), left = n](std::vector<T>& out,
                                  size_t max) mutable -> caf::expected<bool> {
            if (left == 0)
              return g(out, max);
            std::vector<T> dropped;
            auto more = g(dropped, static_cast<size_t>(std::min<uint64_t>(
                                       left, std::max<size_t>(max, 1))));
            if (more)
              left -= std::min<uint64_t>(left, dropped.size());
            return more; // nothing emitted this round
          };
    };
    return std::move(*this);
  }

  /// Records in the file `path` how many of its items the pipeline
  /// consumed, counted from its first and plus `base` (what an earlier run
  /// committed, the `skip` of this one): the file never claims an item that
  /// a sink has not consumed. The producer asks its downstreams for
  /// acknowledgements (at-least-once, through every stage to the sinks or an
  /// outlet's inlet's sinks; the stages must allow it, see
  /// docs/supervision.md), writes the count every `interval`, when the
  /// pipeline fails, and once all of it was consumed, before it ends. A
  /// restarted producer process resumes with `skip(*committed(path))`: it
  /// sends again what was consumed after the last write (at least once,
  /// never lost). The file is replaced whole (write, then rename), so a
  /// crash leaves the old count or the new one; it is not synced to disk, so
  /// a machine that loses power may lose the last writes. A write that fails
  /// fails the pipeline (`errc::io_error` naming the file).
  producer commit_to(std::string path, uint64_t base = 0,
                     caf::timespan interval
                     = std::chrono::milliseconds{100}) && {
    commit.path = std::move(path);
    commit.base = base;
    commit.interval = interval;
    return std::move(*this);
  }
};

/// Returns the count a producer's `commit_to(path)` recorded: 0 when the
/// file does not exist; `errc::io_error` when it cannot be read and
/// `errc::invalid_argument` when it holds anything but a count (both naming
/// the file).
caf::expected<uint64_t> committed(const std::string& path);

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
