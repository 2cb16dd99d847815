// Parsing and validation of node options (command line and TOML files).
#include "coactor/node_options.hpp"

#include <charconv>
#include <thread>

#include <unistd.h>

#include <toml++/toml.h>

#include "coactor/error.hpp"

namespace coactor {

namespace {

caf::error bad_arg(std::string what) {
  return make_error(errc::invalid_argument, std::move(what));
}

caf::expected<std::size_t> parse_count(std::string_view key,
                                       std::string_view text) {
  std::size_t value = 0;
  auto [end, ec]
      = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return bad_arg(std::string{key} + ": expected a non-negative integer, got '"
                   + std::string{text} + "'");
  return value;
}

caf::expected<bool> parse_bool(std::string_view key, std::string_view text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on")
    return true;
  if (text == "false" || text == "0" || text == "no" || text == "off")
    return false;
  return bad_arg(std::string{key} + ": expected true or false, got '"
                 + std::string{text} + "'");
}

// Applies one `key = text` setting; shared by the command line and files.
caf::error apply(node_options& opts, std::string_view key,
                 std::string_view text) {
  if (key == "name") {
    opts.name = std::string{text};
  } else if (key == "threads") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    opts.threads = *n;
  } else if (key == "log-level") {
    auto lvl = log::parse_level(text);
    if (!lvl)
      return bad_arg("log-level: " + context_of(lvl.error()));
    opts.log_level = *lvl;
  } else if (key == "scheduler") {
    auto pol = parse_scheduler_policy(text);
    if (!pol)
      return bad_arg("scheduler: " + context_of(pol.error()));
    opts.policy = *pol;
  } else if (key == "stop-timeout-ms") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    opts.stop_timeout = std::chrono::milliseconds{*n};
  } else if (key == "offload-threads") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    opts.offload_threads = *n;
  } else if (key == "io-threads") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    opts.io_threads = *n;
  } else if (key == "offload-queue") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    opts.offload_queue = *n;
  } else if (key == "handle-signals") {
    auto b = parse_bool(key, text);
    if (!b)
      return b.error();
    opts.handle_signals = *b;
  } else if (key == "host") {
    opts.host = std::string{text};
  } else if (key == "port") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    if (*n > 65535)
      return bad_arg("port: expected 0..65535, got " + std::string{text});
    opts.port = static_cast<uint16_t>(*n);
  } else if (key == "metrics-port") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    if (*n > 65535)
      return bad_arg("metrics-port: expected 0..65535, got "
                     + std::string{text});
    opts.metrics_port = static_cast<uint16_t>(*n);
  } else if (key == "metrics") {
    auto b = parse_bool(key, text);
    if (!b)
      return b.error();
    opts.metrics = *b;
  } else if (key == "networking") {
    auto b = parse_bool(key, text);
    if (!b)
      return b.error();
    opts.networking = *b;
  } else if (key == "heartbeat-ms") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    opts.heartbeat_interval = std::chrono::milliseconds{*n};
  } else if (key == "connection-timeout-ms") {
    auto n = parse_count(key, text);
    if (!n)
      return n.error();
    opts.connection_timeout = std::chrono::milliseconds{*n};
  } else if (key == "tls-certificate") {
    opts.tls_certificate = std::string{text};
  } else if (key == "tls-key") {
    opts.tls_key = std::string{text};
  } else if (key == "tls-ca") {
    opts.tls_ca = std::string{text};
  } else {
    return bad_arg(std::string{key}
                   + ": unknown option (known: name, threads, log-level, "
                     "scheduler, stop-timeout-ms, offload-threads, "
                     "offload-queue, io-threads, handle-signals, host, port, "
                     "metrics-port, metrics, networking, "
                     "heartbeat-ms, connection-timeout-ms, tls-certificate, "
                     "tls-key, tls-ca, config)");
  }
  return caf::none;
}

} // namespace

caf::expected<scheduler_policy> parse_scheduler_policy(std::string_view text) {
  if (text == "auto")
    return scheduler_policy::automatic;
  if (text == "balanced")
    return scheduler_policy::balanced;
  if (text == "sharing")
    return scheduler_policy::sharing;
  if (text == "stealing")
    return scheduler_policy::stealing;
  if (text == "testing")
    return scheduler_policy::testing;
  return bad_arg("unknown scheduler policy '" + std::string{text}
                 + "' (expected auto, balanced, sharing, stealing or testing)");
}

std::string_view to_string(scheduler_policy x) noexcept {
  switch (x) {
    case scheduler_policy::automatic: return "auto";
    case scheduler_policy::balanced: return "balanced";
    case scheduler_policy::sharing: return "sharing";
    case scheduler_policy::stealing: return "stealing";
    case scheduler_policy::testing: return "testing";
  }
  return "unknown";
}

std::size_t default_threads() noexcept {
  auto n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

caf::error node_options::validate() const {
  if (threads == 0)
    return bad_arg("threads: must be at least 1, got 0");
  if (threads > 1024)
    return bad_arg("threads: at most 1024, got " + std::to_string(threads));
  if (name.empty())
    return bad_arg("name: must not be empty");
  if (io_threads == 0)
    return bad_arg("io-threads: must be at least 1, got 0");
  if (io_threads > 64)
    return bad_arg("io-threads: at most 64, got " + std::to_string(io_threads));
  if (offload_threads == 0)
    return bad_arg("offload-threads: must be at least 1, got 0");
  if (offload_threads > 1024)
    return bad_arg("offload-threads: at most 1024, got "
                   + std::to_string(offload_threads));
  if (offload_queue == 0)
    return bad_arg("offload-queue: must be at least 1, got 0");
  if (stop_timeout.count() < 0)
    return bad_arg("stop-timeout-ms: must not be negative");
  if ((port || metrics_port) && host.empty())
    return bad_arg("host: must not be empty when a port is set");
  if (heartbeat_interval.count() < 0 || connection_timeout.count() < 0)
    return bad_arg("heartbeat-ms, connection-timeout-ms: must not be negative");
  if (connection_timeout.count() > 0 && heartbeat_interval.count() == 0)
    return bad_arg(
        "connection-timeout-ms: needs heartbeats (heartbeat-ms > 0), "
        "or an idle peer would be dropped");
  if (connection_timeout.count() > 0
      && connection_timeout < 2 * heartbeat_interval)
    return bad_arg(
        "connection-timeout-ms: must be at least twice heartbeat-ms ("
        + std::to_string(heartbeat_interval.count()) + "), got "
        + std::to_string(connection_timeout.count()));
  if (tls_certificate.empty() != tls_key.empty())
    return bad_arg("tls-certificate, tls-key: give both or neither");
  if (!tls_ca.empty() && tls_certificate.empty())
    return bad_arg("tls-ca: needs tls-certificate and tls-key too (peers "
                   "verify this node's certificate as well)");
  for (auto& [key, path] :
       {std::pair<const char*, const std::string*>{"tls-certificate",
                                                   &tls_certificate},
        std::pair<const char*, const std::string*>{"tls-key", &tls_key},
        std::pair<const char*, const std::string*>{"tls-ca", &tls_ca}}) {
    if (!path->empty() && ::access(path->c_str(), R_OK) != 0)
      return bad_arg(std::string{key} + ": cannot read '" + *path + "'");
  }
  return caf::none;
}

caf::expected<node_options>
node_options::from_args(std::span<const char* const> args, node_options base) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg{args[i]};
    if (!arg.starts_with("--"))
      return bad_arg("argument " + std::to_string(i + 1) + " '"
                     + std::string{arg} + "': expected --key=value");
    arg.remove_prefix(2);
    std::string_view key = arg;
    std::string_view value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      key = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (key == "handle-signals" || key == "networking"
               || key == "metrics") {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return bad_arg("--" + std::string{key} + ": missing value");
    }
    if (key == "config") {
      auto loaded = from_file(std::string{value}, std::move(base));
      if (!loaded)
        return loaded.error();
      base = std::move(*loaded);
      continue;
    }
    if (auto err = apply(base, key, value)) {
      return bad_arg("--" + context_of(err));
    }
  }
  return base;
}

caf::expected<node_options>
node_options::from_args(std::span<const char* const> args) {
  return from_args(args, node_options{});
}

caf::expected<node_options> node_options::from_args(int argc,
                                                    const char* const* argv) {
  if (argc <= 1)
    return node_options{};
  return from_args(
      std::span<const char* const>{argv + 1, static_cast<size_t>(argc - 1)});
}

caf::expected<node_options> node_options::from_file(const std::string& path) {
  return from_file(path, node_options{});
}

caf::expected<node_options> node_options::from_file(const std::string& path,
                                                    node_options base) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    const auto& src = err.source();
    std::string msg = path;
    if (src.begin.line > 0)
      msg += ":" + std::to_string(src.begin.line) + ":"
             + std::to_string(src.begin.column);
    msg += ": ";
    msg += err.description();
    return make_error(errc::invalid_config, std::move(msg));
  }
  auto* node_tbl = doc["node"].as_table();
  if (node_tbl == nullptr) {
    if (doc.contains("node"))
      return make_error(errc::invalid_config,
                        path + ": 'node' must be a table");
    return base; // nothing for the node in this file
  }
  for (auto& [key, value] : *node_tbl) {
    std::string text;
    if (auto s = value.value<std::string>(); s && value.is_string())
      text = *s;
    else if (auto i = value.value<int64_t>(); i && value.is_integer())
      text = std::to_string(*i);
    else if (auto b = value.value<bool>(); b && value.is_boolean())
      text = *b ? "true" : "false";
    else
      return make_error(errc::invalid_config,
                        path + ": [node]." + std::string{key.str()}
                            + ": expected a string, an integer or a boolean");
    if (auto err = apply(base, key.str(), text)) {
      auto line = value.source().begin.line;
      return make_error(errc::invalid_config, path + ":" + std::to_string(line)
                                                  + ": [node]."
                                                  + context_of(err));
    }
  }
  return base;
}

} // namespace coactor
