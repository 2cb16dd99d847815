// coactor::actors::placement: ready-made stages placed on another node (a
// counter, a file, a buffer, a producer), joined to local pipelines through
// inlets and outlets. `coactor node` publishes the factory that builds them.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "coactor/message_types.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"

namespace coactor::actors {

/// Asks a node's stage factory to place a stage: `(place_atom, placement)`,
/// answered with the stage's input (an inlet handle; null for a producer).
using place_atom = caf::atom_constant<caf::atom("cx_place")>;

/// A placed stage's end, sent to `placement::report_to`:
/// `(placed_atom, std::string name, uint64_t items, caf::error)`; `items` is
/// what it consumed (a sink), forwarded (a buffer) or produced (a producer).
using placed_atom = caf::atom_constant<caf::atom("cx_placed")>;

/// The name under which `coactor node` publishes its stage factory.
inline constexpr const char* stage_factory_name = "stages";

/// A ready-made stage to run on another node. Plain data; crosses the wire.
struct placement {
  /// What to run:
  /// - "counter": a sink counting items;
  /// - "to_file": a sink writing one line per item to `path` on that node;
  /// - "buffer": a bounded buffer of `capacity` items, forwarding to the
  ///   inlet `downstream`;
  /// - "iota": a producer of the integers 0 .. `count` - 1 (item type int64),
  ///   sending to the inlet `downstream`.
  std::string kind;
  /// The item type: "int64", "double" or "string".
  std::string item_type = "int64";
  /// The stage name on that node, and the name its inlet is published as
  /// there (must be free).
  std::string name;
  /// Sinks and buffers: how many outlets will feed the stage's inlet.
  uint32_t upstreams = 1;
  /// Sinks and buffers: the inlet's credit window; buffers: their capacity.
  /// 0 picks the default.
  uint64_t capacity = 0;
  /// "iota": how many items.
  uint64_t count = 0;
  /// "to_file": the path on that node.
  std::string path;
  /// "buffer" and "iota": the inlet to send to (usually on the placing node).
  caf::actor downstream;
  /// Receives the `placed_atom` report when the stage's pipeline ends
  /// (`place` sets it).
  caf::actor report_to;
};

/// @relates placement
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, placement& x) {
  return f(caf::meta::type_name("coactor::actors::placement"), x.kind,
           x.item_type, x.name, x.upstreams, x.capacity, x.count, x.path,
           x.downstream, x.report_to);
}

/// Registers everything placing stages needs on a node: `placement` and the
/// streams of the item types "int64" (`int64_t`), "double" and "string"
/// (`std::string`). Call it on both nodes (`coactor node` does).
void register_stage_types(message_types& types);

/// The stage factory actor (spawn it with the node: `n.spawn(stage_factory,
/// &n)`): answers `(place_atom, placement)` by starting
/// the placed stage's pipeline on `n` and replying with its input. Errors:
/// `errc::invalid_argument` for an unknown kind or item type or a missing
/// downstream, and the pipeline's own start errors. The stage's end is
/// reported to `placement::report_to`. `n` must outlive the actor; the
/// pipelines it starts are owned by `n`.
caf::behavior stage_factory(caf::event_based_actor* self, coactor::node* n);

/// A stage placed on another node.
struct placed_stage {
  /// Where its items go (`outlet<T>(input)`); null for a producer.
  caf::actor input;
  /// Becomes ready when the stage's pipeline ended: the items it consumed,
  /// forwarded or produced, or its error; `errc::connection_failed` naming
  /// the node when that node was lost first.
  std::future<caf::expected<uint64_t>> done;
};

/// Places `what` on the connected node `p` through its stage factory
/// (published as `stage_factory_name`) and returns its input. Blocks the
/// calling thread for at most about `timeout`: for `main` and tests, never
/// from an actor. Errors: `errc::name_not_found` when `p` publishes no
/// factory, the factory's errors (above), `errc::type_not_registered` when
/// a side lacks `register_stage_types`, `errc::connection_failed`,
/// `errc::timeout`.
[[nodiscard]] caf::expected<placed_stage>
place(node& n, const remote::peer& p, placement what,
      std::chrono::milliseconds timeout = std::chrono::seconds{10});

/// Places `what` on the connected node `p` without blocking `self`, then
/// calls `on_result(caf::expected<caf::actor>)` in `self`'s context with the
/// stage's input (null for a producer) or the errors of `place`. The stage's
/// end arrives at `self` as `(placed_atom, std::string name, uint64_t items,
/// caf::error)`, unless its node is lost first: monitor the input (or the
/// peer's registry) for that.
template <class Self, class F>
void async_place(Self* self, const remote::peer& p, placement what, F on_result,
                 caf::timespan timeout = std::chrono::seconds{10}) {
  what.report_to = caf::actor_cast<caf::actor>(self);
  remote::async_lookup(
      self, p, stage_factory_name,
      [self, what, on_result,
       timeout](caf::expected<caf::actor> factory) mutable {
        if (!factory) {
          on_result(caf::expected<caf::actor>{std::move(factory.error())});
          return;
        }
        remote::ask<caf::actor>(self, *factory, timeout, std::move(on_result),
                                place_atom::value, std::move(what));
      },
      timeout);
}

} // namespace coactor::actors
