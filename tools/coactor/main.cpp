// The `coactor` command-line tool.
#include <cstdio>
#include <functional>

#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"coactor: actors, pipelines and nodes on CAF 0.17.6"};
  app.require_subcommand(1);
  auto run_node = coactor::tool::add_node_command(app);
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("node"))
    return run_node();
  return 2;
}
