// coactor::status: the node's live status document, served as `/status.json`
// (and drawn by the status page) on the node's `metrics_port`.
#pragma once

#include <functional>
#include <string>

#include <caf/actor_system.hpp>
#include <nlohmann/json.hpp>

#include "coactor/metrics.hpp"

namespace coactor {

class node;

namespace status {

/// Computes a node's contribution to one section of the status document.
using provider = std::function<nlohmann::json()>;

/// Adds `fn` to the section `section` of `n`'s status document (built-in
/// sections: "pipelines", "peers", "actors"; any other name but "node" adds
/// a section of your own): at every snapshot its value is appended to the
/// section's array, an array value is spliced in. Destroying the returned
/// handle removes `fn`. Returns an empty handle (and registers nothing) for the
/// name "node", which holds the node's own figures, or an empty `fn`.
///
/// Threading: `fn` runs on the thread that takes the snapshot (the status
/// endpoint's handler actor, or yours), never at the same time as another
/// provider or a metrics collector of the node, so it may update state it
/// owns without a lock. It must be quick and must not block on actors.
/// Precondition: `n.running()`.
[[nodiscard]] metrics::collector_handle add(node& n, std::string section,
                                            provider fn);

/// Same as `add(node&, ...)`, for code that only has the actor system (an
/// actor: `self->home_system()`). Returns an empty handle (and drops `fn`)
/// when `sys` was not made by a `coactor::node`.
[[nodiscard]] metrics::collector_handle add(caf::actor_system& sys,
                                            std::string section, provider fn);

/// Returns the status document: `node` (name, uptime_seconds,
/// scheduler_threads, actors_alive), `actors` (named actors: registered in
/// CAF's registry or published), `pipelines`, `peers`, and every section
/// added with `add`; the format is in docs/observability.md. Any thread.
/// Precondition: `n.running()`.
[[nodiscard]] nlohmann::json snapshot(node& n);

} // namespace status

} // namespace coactor
