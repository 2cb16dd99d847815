// Private: the hooks through which a node sets up and starts remoting.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "coactor/node_options.hpp"

namespace coactor::detail {

class node_context;

/// Registers message types (coactor's and the user's) and, for a networked
/// node, loads the middleman (and OpenSSL) with heartbeat settings. Called
/// before the actor system is constructed.
void configure_node(caf::actor_system_config& cfg, const node_options& opts);

/// Spawns the registry and remoting actors and listens on the configured
/// port. Called right after the actor system started. Errors:
/// `errc::connection_failed` naming host:port when it cannot listen.
caf::error start_remoting(node_context& ctx);

} // namespace coactor::detail
