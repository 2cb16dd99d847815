// `coactor node`: a networked node publishing ready-made actors (an echo and
// the stage factory of the actors library) until SIGTERM or SIGINT.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/actors/placement.hpp"
#include "coactor/error.hpp"
#include "coactor/metrics.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "commands.hpp"

namespace coactor::tool {

namespace {

using info_atom = caf::atom_constant<caf::atom("info")>;

// Answers every request with the request itself.
caf::behavior echo(caf::event_based_actor* self) {
  self->set_default_handler(caf::reflect);
  return {[](info_atom) {
    return std::string{"echo: replies with the request"};
  }};
}

struct settings {
  std::string name = "coactor-node";
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::size_t threads = 0;
  std::string log_level;
  std::string config;
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_ca;
  std::size_t heartbeat_ms = 0;
  std::size_t connection_timeout_ms = 0;
  std::optional<uint16_t> metrics_port;
};

int run(const settings& s) {
  node_options opts;
  if (!s.config.empty()) {
    auto loaded = node_options::from_file(s.config);
    if (!loaded) {
      std::cerr << "coactor node: " << describe(loaded.error()) << '\n';
      return 2;
    }
    opts = std::move(*loaded);
  }
  opts.name = s.name;
  opts.host = s.host;
  opts.port = s.port;
  if (s.threads > 0)
    opts.threads = s.threads;
  if (!s.log_level.empty()) {
    auto lvl = log::parse_level(s.log_level);
    if (!lvl) {
      std::cerr << "coactor node: --log-level: " << describe(lvl.error())
                << '\n';
      return 2;
    }
    opts.log_level = *lvl;
  }
  if (!s.tls_certificate.empty())
    opts.tls_certificate = s.tls_certificate;
  if (!s.tls_key.empty())
    opts.tls_key = s.tls_key;
  if (!s.tls_ca.empty())
    opts.tls_ca = s.tls_ca;
  if (s.heartbeat_ms > 0)
    opts.heartbeat_interval = std::chrono::milliseconds{s.heartbeat_ms};
  if (s.connection_timeout_ms > 0)
    opts.connection_timeout
        = std::chrono::milliseconds{s.connection_timeout_ms};
  if (s.metrics_port)
    opts.metrics_port = s.metrics_port;
  opts.handle_signals = true;
  actors::register_stage_types(opts.types);
  auto n = node::create(opts);
  if (!n) {
    std::cerr << "coactor node: " << describe(n.error()) << '\n';
    return 1;
  }
  for (auto err : {remote::publish(*n, "echo", n->spawn(echo)),
                   remote::publish(*n, actors::stage_factory_name,
                                   n->spawn(actors::stage_factory, &*n))}) {
    if (err) {
      std::cerr << "coactor node: " << describe(err) << '\n';
      return 1;
    }
  }
  auto port = remote::port(*n);
  if (!port) {
    std::cerr << "coactor node: " << describe(port.error()) << '\n';
    return 1;
  }
  // Tests and scripts read this line to learn the port.
  std::cout << "coactor node '" << opts.name << "' listening on " << opts.host
            << ':' << *port << (opts.tls_enabled() ? " (TLS)" : "")
            << "; published: echo, " << actors::stage_factory_name << std::endl;
  if (auto mport = metrics::endpoint_port(*n))
    std::cout << "coactor node '" << opts.name << "' serving metrics on http://"
              << opts.host << ':' << *mport << "/metrics" << std::endl;
  n->wait_for_stop();
  auto report = n->stop();
  std::cout << "coactor node '" << opts.name << "' stopped"
            << (report.clean() ? "" : " (some actors had to be killed)")
            << std::endl;
  return 0;
}

} // namespace

std::function<int()> add_node_command(CLI::App& app) {
  auto s = std::make_shared<settings>();
  auto* cmd = app.add_subcommand(
      "node",
      "Run a node that publishes ready-made actors until SIGTERM or SIGINT: "
      "'echo' (replies with the request) and 'stages' (places pipeline "
      "stages on this node: counter, to_file, buffer, iota). Without TLS, "
      "anyone who reaches the port can message them: keep the loopback "
      "default unless TLS is on.");
  cmd->add_option("--name", s->name, "Node name")->capture_default_str();
  cmd->add_option("--host", s->host, "Address to listen on")
      ->capture_default_str();
  cmd->add_option("--port", s->port, "TCP port; 0 picks a free one")
      ->capture_default_str();
  cmd->add_option("--threads", s->threads,
                  "Scheduler threads (default: cores)");
  cmd->add_option("--log-level", s->log_level,
                  "trace, debug, info, warn, error, critical or off");
  cmd->add_option("--config", s->config, "TOML file with a [node] table")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-certificate", s->tls_certificate,
                  "PEM certificate of this node (enables TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", s->tls_key, "PEM private key of this node")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tls-ca", s->tls_ca,
                  "PEM CA certificates; peers must present a certificate "
                  "signed by one")
      ->check(CLI::ExistingFile);
  cmd->add_option("--heartbeat-ms", s->heartbeat_ms,
                  "Heartbeat interval (default 200)");
  cmd->add_option("--connection-timeout-ms", s->connection_timeout_ms,
                  "Drop a silent peer after this long (default 1200)");
  cmd->add_option("--metrics-port", s->metrics_port,
                  "Serve Prometheus metrics at /metrics on this HTTP port "
                  "(0 picks a free one; docs/observability.md)");
  return [s] {
    return run(*s);
  };
}

} // namespace coactor::tool
