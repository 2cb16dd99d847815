// The subcommands of the `coactor` tool.
#pragma once

#include <CLI/CLI.hpp>

namespace coactor::tool {

/// Adds `coactor node` to `app`; the returned callback runs it and returns
/// the process exit code.
std::function<int()> add_node_command(CLI::App& app);

} // namespace coactor::tool
