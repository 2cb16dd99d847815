// The subcommands of the `coactor` tool.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "coactor/spec/plan.hpp"

namespace coactor::tool {

/// Exit codes of `coactor run` and `coactor graph` (docs/specs.md).
inline constexpr int exit_ok = 0;
inline constexpr int exit_runtime_failure = 1;
inline constexpr int exit_spec_error = 2;
/// `coactor run` stopped by SIGINT or SIGTERM (after its summary).
inline constexpr int exit_interrupted = 130;

/// Adds `coactor node` to `app`; the returned callback runs it and returns
/// the process exit code.
std::function<int()> add_node_command(CLI::App& app);

/// Adds `coactor run` (run a pipeline spec).
std::function<int()> add_run_command(CLI::App& app);

/// Adds `coactor graph` (DOT or SVG of a pipeline spec).
std::function<int()> add_graph_command(CLI::App& app);

/// Loads the spec at `path` with `--set NAME=VALUE` variables; prints every
/// problem to stderr (`file:line:col: message`) and returns nullopt.
std::optional<spec::plan> load_spec(const std::string& path,
                                    const std::vector<std::string>& sets,
                                    const char* command);

} // namespace coactor::tool
