// coactor::actors consumers: the sinks of a pipeline (a function, a counter,
// a file).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "coactor/actors/detail/spec.hpp"
#include "coactor/actors/detail/stage_actors.hpp"

namespace coactor::actors {

/// Credit a consumer keeps granted to its upstreams (items in flight to it).
inline constexpr size_t default_window = 2048;

namespace detail {

/// Calls `f(xs...)`; returns the `caf::error` it returns, if it returns one.
template <class F, class... Ts>
caf::error call_for_error(F& f, Ts&... xs) {
  if constexpr (std::is_same_v<std::invoke_result_t<F&, Ts&...>, caf::error>) {
    return f(xs...);
  } else {
    f(xs...);
    return {};
  }
}

} // namespace detail

/// A consumer calling a function for each item; the item type is fixed when
/// it is placed in a pipeline with `.to(...)`. Each parallel copy calls its
/// own copy of the function, inside its actor (never concurrently with
/// itself). The function returns `void`, or a `caf::error` to fail the
/// stage; a thrown exception fails it as well (`errc::stage_failed`, naming
/// the stage), unless the consumer restarts it (`restart_on_failure`): a
/// fresh copy then continues with the item that failed, so no item is
/// consumed twice.
template <class F>
struct for_each_spec : detail::named_spec<for_each_spec<F>>,
                       detail::restartable_spec<for_each_spec<F>> {
  for_each_spec(F f, size_t window) : fun(std::move(f)), window(window) {
    this->name = "consumer";
  }

  F fun;
  size_t window = default_window;

  template <class T>
  std::function<detail::sink_fn<T>()> make() const {
    return [fun = fun]() -> detail::sink_fn<T> {
      return [fun](std::vector<T>& items) mutable -> caf::error {
        // On a failure `items` keeps what was not consumed (the sink_fn
        // contract a restart relies on).
        size_t done = 0;
        auto forget_done = [&] {
          items.erase(items.begin(),
                      items.begin() + static_cast<ptrdiff_t>(done));
        };
        try {
          for (; done < items.size(); ++done) {
            if (auto err = detail::call_for_error(fun, items[done])) {
              forget_done();
              return err;
            }
          }
        } catch (...) {
          forget_done();
          throw;
        }
        return {};
      };
    };
  }
};

/// Returns a consumer calling `f(item)` for every item.
template <class F>
for_each_spec<F> for_each(F f, size_t window = default_window) {
  return for_each_spec<F>{std::move(f), window};
}

/// A consumer calling a function once per batch (`f(std::vector<T>&)`):
/// the cheapest consumer per item.
/// Restarted (`restart_on_failure`), a fresh copy of the function gets the
/// failed batch again, whole: make its effects idempotent per batch.
template <class F>
struct for_each_batch_spec : detail::named_spec<for_each_batch_spec<F>>,
                             detail::restartable_spec<for_each_batch_spec<F>> {
  for_each_batch_spec(F f, size_t window) : fun(std::move(f)), window(window) {
    this->name = "consumer";
  }

  F fun;
  size_t window = default_window;

  template <class T>
  std::function<detail::sink_fn<T>()> make() const {
    return
        [fun = fun, keep = this->restarts.enabled()]() -> detail::sink_fn<T> {
          return [fun, keep](std::vector<T>& items) mutable -> caf::error {
            if (!keep)
              return detail::call_for_error(fun, items);
            // The function may move from its batch; a retry needs it whole.
            auto copy = items;
            return detail::call_for_error(fun, copy);
          };
        };
  }
};

/// Returns a consumer calling `f(items)` for every batch.
template <class F>
for_each_batch_spec<F> for_each_batch(F f, size_t window = default_window) {
  return for_each_batch_spec<F>{std::move(f), window};
}

/// A consumer that only counts; the count is in the pipeline summary and, if
/// given, added to `*total` (thread-safe, relaxed).
struct counter_spec : detail::named_spec<counter_spec> {
  std::shared_ptr<std::atomic<uint64_t>> total;
  size_t window = default_window;

  template <class T>
  std::function<detail::sink_fn<T>()> make() const {
    return [total = total]() -> detail::sink_fn<T> {
      return [total](std::vector<T>& items) -> caf::error {
        if (total)
          total->fetch_add(items.size(), std::memory_order_relaxed);
        return {};
      };
    };
  }
};

/// Returns a counting consumer.
inline counter_spec counter(std::shared_ptr<std::atomic<uint64_t>> total
                            = nullptr) {
  counter_spec s;
  s.name = "counter";
  s.total = std::move(total);
  return s;
}

/// A consumer writing each item and a newline (`out << item << '\n'`) to a
/// file, truncated at start. A file that cannot be opened or written fails
/// the stage (`errc::stage_failed`, naming the stage and the path). Parallel
/// copies would overwrite each other: use one copy.
struct to_file_spec : detail::named_spec<to_file_spec> {
  std::string path;
  size_t window = default_window;

  template <class T>
  std::function<detail::sink_fn<T>()> make() const {
    return [path = path]() -> detail::sink_fn<T> {
      auto out = std::make_shared<std::ofstream>(path, std::ios::trunc);
      if (!*out)
        throw std::invalid_argument("cannot open '" + path + "' for writing");
      return [out, path](std::vector<T>& items) -> caf::error {
        for (auto& x : items)
          *out << x << '\n';
        out->flush();
        if (!*out)
          return make_error(errc::stage_failed, "cannot write '" + path + "'");
        return {};
      };
    };
  }
};

/// Returns a consumer writing items to the file at `path`.
inline to_file_spec to_file(std::string path) {
  to_file_spec s;
  s.name = "file";
  s.path = std::move(path);
  return s;
}

} // namespace coactor::actors
