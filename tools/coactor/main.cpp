// The `coactor` tool.
#include <cstdio>
#include <functional>

#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"coactor: actors, pipelines and nodes on CAF 0.17.6"};
  app.require_subcommand(1);
  auto run_node = coactor::tool::add_node_command(app);
  auto run_spec = coactor::tool::add_run_command(app);
  auto graph = coactor::tool::add_graph_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors are errors in what was asked: exit 2 like spec errors.
    auto rc = app.exit(e);
    return rc == 0 ? 0 : coactor::tool::exit_spec_error;
  }
  if (app.got_subcommand("node"))
    return run_node();
  if (app.got_subcommand("run"))
    return run_spec();
  if (app.got_subcommand("graph"))
    return graph();
  return coactor::tool::exit_spec_error;
}
