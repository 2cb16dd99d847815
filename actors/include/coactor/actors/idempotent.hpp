// coactor::actors::idempotent: a consumer that drops the repeats an
// at-least-once stream may deliver, for effectively-once results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "coactor/actors/consumer.hpp"
#include "coactor/actors/detail/sink_actor.hpp"
#include "coactor/actors/detail/spec.hpp"
#include "coactor/actors/pipeline.hpp"

namespace coactor::actors {

/// A consumer for at-least-once streams (`outlet(...).at_least_once(...)`):
/// `key(item)` is the item's position in the stream (a sequence number that
/// grows along it), and an item whose key is not above the highest one
/// consumed so far is a repeat: it is dropped before `fun` sees it and
/// counted as a duplicate in the pipeline summary. `fun(std::vector<T>&)`
/// consumes each batch of new items (returns `void` or a `caf::error` that
/// fails the stage; an exception fails it too).
///
/// Effectively once: when `fun` records what it consumed durably (a file, a
/// table) and a restarted consumer passes the highest key recorded there as
/// `last`, every item reaches that record exactly once, even across a
/// kill -9 of the consumer process. Runs inside the sink's actor; with
/// parallel copies each has its own highest key, so key-partition the
/// stream or use one copy.
template <class Key, class F>
struct idempotent_spec : detail::named_spec<idempotent_spec<Key, F>> {
  idempotent_spec(Key k, std::optional<uint64_t> l, F f, size_t w)
      : key(std::move(k)), fun(std::move(f)), last(l), window(w) {
    this->name = "idempotent";
  }

  Key key;
  F fun;
  std::optional<uint64_t> last;
  size_t window = default_window;

  /// Called by the pipeline builder for each copy.
  template <class T>
  caf::actor spawn_one(detail::build_context& ctx, detail::stage_context sc,
                       size_t upstreams) const {
    detail::sink_args<T> a;
    a.upstreams = upstreams;
    a.window = window;
    a.make = [key = key, fun = fun, last = last,
              probe = sc.probe]() -> detail::sink_fn<T> {
      return [key, fun, high = last,
              probe](std::vector<T>& items) mutable -> caf::error {
        size_t kept = 0;
        for (auto& x : items) {
          auto k = static_cast<uint64_t>(key(x));
          if (high && k <= *high)
            continue;
          high = k;
          if (&items[kept] != &x)
            items[kept] = std::move(x);
          ++kept;
        }
        if (auto dups = items.size() - kept; dups > 0) {
          probe->add_duplicates(dups);
          items.resize(kept);
        }
        if (items.empty())
          return {};
        return detail::call_for_error(fun, items);
      };
    };
    a.ctx = std::move(sc);
    return ctx.node->spawn(detail::sink_actor<T>, std::move(a));
  }
};

/// Returns an idempotent consumer: `key(item)` gives the item's sequence
/// number, `last` the highest one already consumed (nullopt: none),
/// `fun(items)` consumes each batch of new items.
template <class Key, class F>
idempotent_spec<Key, F> idempotent(Key key, std::optional<uint64_t> last, F fun,
                                   size_t window = default_window) {
  return {std::move(key), last, std::move(fun), window};
}

} // namespace coactor::actors
