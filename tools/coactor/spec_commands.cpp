// `coactor graph` and the spec loading shared with `coactor run`: a spec
// file with `--set NAME=VALUE` variables, parsed and validated, errors
// printed as `file:line:col: message`.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "coactor/spec/plan.hpp"
#include "commands.hpp"

namespace coactor::tool {

std::optional<spec::plan> load_spec(const std::string& path,
                                    const std::vector<std::string>& sets,
                                    const char* command) {
  spec::variables vars;
  for (auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "coactor " << command << ": --set '" << s
                << "': expected NAME=VALUE\n";
      return std::nullopt;
    }
    vars.set[s.substr(0, eq)] = s.substr(eq + 1);
  }
  auto result = spec::load(path, spec::registry::with_catalog(), vars);
  if (!result.ok()) {
    for (auto& d : result.errors())
      std::cerr << d.to_string() << '\n';
    return std::nullopt;
  }
  return result.get();
}

namespace {

struct graph_settings {
  std::string path;
  std::vector<std::string> sets;
  std::string format = "dot";
};

bool in_path(const std::string& exe) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t i = 0;
  while (i <= dirs.size()) {
    auto j = dirs.find(':', i);
    if (j == std::string::npos)
      j = dirs.size();
    auto dir = dirs.substr(i, j - i);
    if (!dir.empty() && ::access((dir + '/' + exe).c_str(), X_OK) == 0)
      return true;
    i = j + 1;
  }
  return false;
}

int graph(const graph_settings& s) {
  auto plan = load_spec(s.path, s.sets, "graph");
  if (!plan)
    return exit_spec_error;
  auto dot = plan->to_dot();
  if (s.format == "dot") {
    std::cout << dot << std::flush;
    return exit_ok;
  }
  if (!in_path("dot")) {
    std::cerr << "coactor graph: --format svg needs Graphviz 'dot' in PATH "
                 "(Debian: apt-get install graphviz), or use --format dot\n";
    return exit_runtime_failure;
  }
  std::fflush(stdout);
  auto* pipe = ::popen("dot -Tsvg", "w");
  if (pipe == nullptr) {
    std::cerr << "coactor graph: cannot start 'dot'\n";
    return exit_runtime_failure;
  }
  auto written = std::fwrite(dot.data(), 1, dot.size(), pipe);
  auto status = ::pclose(pipe);
  if (written != dot.size() || status == -1 || !WIFEXITED(status)
      || WEXITSTATUS(status) != 0) {
    std::cerr << "coactor graph: 'dot -Tsvg' failed\n";
    return exit_runtime_failure;
  }
  return exit_ok;
}

} // namespace

std::function<int()> add_graph_command(CLI::App& app) {
  auto s = std::make_shared<graph_settings>();
  auto* cmd = app.add_subcommand(
      "graph", "Print the pipeline of a spec file as a Graphviz graph (DOT, "
               "or SVG through Graphviz 'dot'). Exit codes: 0 ok, 1 'dot' "
               "missing or failed, 2 spec error.");
  cmd->add_option("spec", s->path, "The spec file (TOML; docs/specs.md)")
      ->required();
  cmd->add_option("--set", s->sets, "NAME=VALUE for ${NAME} in the spec");
  cmd->add_option("--format", s->format, "dot or svg")
      ->check(CLI::IsMember({"dot", "svg"}))
      ->capture_default_str();
  return [s] {
    return graph(*s);
  };
}

} // namespace coactor::tool
