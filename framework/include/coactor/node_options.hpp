// Options of a coactor node, settable in code, from the command line or from a
// TOML config file.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "coactor/log.hpp"
#include "coactor/message_types.hpp"

namespace spdlog::sinks {
class sink;
} // namespace spdlog::sinks

namespace coactor {

/// How CAF's scheduler distributes actors over worker threads.
enum class scheduler_policy : uint8_t {
  /// The default: `balanced` for a node without networking, `sharing` for a
  /// networked one. Under ASan, CAF 0.17.6's BASP broker intermittently
  /// stays in a reference cycle at shutdown (a few KiB, once, at exit):
  /// in 0.6% of test runs of two networked nodes under `sharing` and 2.5%
  /// under `balanced` (docs/benchmarks.md). A node resolves it when created
  /// (`node::options().policy` is never `automatic`).
  automatic,
  /// One shared job queue (CAF's work sharing): fast fan-out; every enqueue
  /// takes one lock and wakes a worker, so a request chain between two
  /// actors hops between threads.
  sharing,
  /// Per-worker queues with work stealing: CAF's own default. Fast for
  /// request chains; slow for fan-out (stealing from a long queue walks it,
  /// and idle workers poll).
  stealing,
  /// coactor's scheduler, the default of a node without networking:
  /// per-worker queues like `stealing` (a request chain stays on one
  /// worker), O(1) stealing, and idle workers sleep until a queue holds
  /// surplus work, which wakes one at once: fan-out about as fast as
  /// `sharing`, request chains faster than `stealing`. An idle node's
  /// workers wake every 10 ms to look for work. Reads
  /// `scheduler.max-throughput` like CAF's; CAF's `work-stealing.*` settings
  /// do not apply.
  balanced,
  /// CAF's deterministic testing scheduler: nothing runs until a test drives
  /// it through `node::test_coordinator()`, and time is virtual.
  testing,
};

/// Parses "auto", "balanced", "sharing", "stealing" or "testing".
/// Errors: `errc::invalid_argument` naming the text.
[[nodiscard]] caf::expected<scheduler_policy>
parse_scheduler_policy(std::string_view text);

/// Returns the name of `x`, e.g. "sharing".
[[nodiscard]] std::string_view to_string(scheduler_policy x) noexcept;

/// Returns the number of hardware threads (at least 1).
[[nodiscard]] std::size_t default_threads() noexcept;

/// Options of a node. Plain data: set fields in code, or parse them with
/// `from_args` / `from_file`; `node::create` validates them.
struct node_options {
  /// The node's name, shown in every log line and used to tell nodes apart.
  std::string name = "coactor";

  /// Worker threads of the scheduler; must be at least 1. Defaults to the
  /// number of cores (CAF's own default is max(4, cores)).
  std::size_t threads = default_threads();

  /// The log level; unset means `COACTOR_LOG_LEVEL` from the environment, or
  /// "info" when that is unset too.
  std::optional<log::level> log_level;

  /// Where log lines go; null means stderr (coloured on a terminal).
  std::shared_ptr<spdlog::sinks::sink> log_sink;

  /// The scheduling policy (see `scheduler_policy`; docs/benchmarks.md
  /// compares them).
  scheduler_policy policy = scheduler_policy::automatic;

  /// Whether SIGINT and SIGTERM trigger `node::request_stop()`.
  bool handle_signals = false;

  /// How long the destructor and a signal-triggered stop wait for actors.
  std::chrono::milliseconds stop_timeout = std::chrono::seconds{5};

  /// Threads of the node's worker pool for blocking work (`offload`); they
  /// start on first use. Must be at least 1.
  std::size_t offload_threads = 4;

  /// How many offloaded jobs may wait for a pool thread; beyond that,
  /// `offload` fails with `errc::resource_exhausted` instead of queueing
  /// without bound. Must be at least 1.
  std::size_t offload_queue = 10'000;

  /// Threads that run the node's Asio `io_context` (coactor/io.hpp: sockets,
  /// the HTTP client and server). They start on first use of `io::context`
  /// and `node::stop` joins them. Must be 1..64.
  std::size_t io_threads = 1;

  // -- networking (see coactor/remote.hpp) ------------------------------------

  /// The TCP port other nodes connect to; unset means the node does not
  /// listen. 0 lets the system pick a free port: `remote::port(node)` reports
  /// it. Without TLS, anyone who reaches the port can message the published
  /// actors: hence the loopback default of `host`.
  std::optional<uint16_t> port;

  /// The address to listen on (with `port` and `metrics_port`). "0.0.0.0"
  /// means every interface.
  std::string host = "127.0.0.1";

  /// The HTTP port on which the node serves its metrics at `/metrics` in the
  /// Prometheus text format (docs/observability.md); unset means none. 0
  /// lets the system pick a free port: `metrics::endpoint_port(node)`
  /// reports it. Creating the node fails when it cannot listen.
  std::optional<uint16_t> metrics_port;

  /// Whether the node records its built-in metrics (asks, HTTP client and
  /// server, pipeline stages, ...: docs/observability.md). Off, those cost
  /// nothing on hot paths; the registry (`metrics::of`) still holds the
  /// node figures and the user's own metrics, and `metrics_port` still
  /// serves them.
  bool metrics = true;

  /// Whether the node loads CAF's network layer (the middleman) even when it
  /// does not listen, to connect to other nodes. Implied by `port` and by the
  /// TLS options; plain nodes stay without it (cheaper to start and stop).
  bool networking = false;

  /// How often a networked node sends heartbeats to its peers.
  std::chrono::milliseconds heartbeat_interval{200};

  /// After how long without a byte from a peer (heartbeats included) the
  /// node drops the connection: a hung peer is detected within about
  /// `connection_timeout + heartbeat_interval`. Zero disables the check.
  std::chrono::milliseconds connection_timeout{1200};

  /// TLS: PEM file with this node's certificate (chain). With `tls_key`.
  std::string tls_certificate;

  /// TLS: PEM file with this node's private key.
  std::string tls_key;

  /// TLS: PEM file with the CA certificates that peers' certificates must be
  /// signed by. With a CA set, peers without such a certificate cannot
  /// connect (both directions).
  std::string tls_ca;

  /// The user's message types, registered with the node's actor system.
  message_types types;

  /// Returns whether the node loads the network layer.
  [[nodiscard]] bool networked() const noexcept {
    return networking || port.has_value() || tls_enabled();
  }

  /// Returns the policy a node created from these options runs: `policy`,
  /// or for `automatic`, `sharing` if `networked()` and `balanced` if not.
  [[nodiscard]] scheduler_policy effective_policy() const noexcept {
    if (policy != scheduler_policy::automatic)
      return policy;
    return networked() ? scheduler_policy::sharing : scheduler_policy::balanced;
  }

  /// Returns whether connections use TLS.
  [[nodiscard]] bool tls_enabled() const noexcept {
    return !tls_certificate.empty() || !tls_key.empty() || !tls_ca.empty();
  }

  /// Returns `none`, or `errc::invalid_argument` saying which option is bad.
  [[nodiscard]] caf::error validate() const;

  /// Parses command-line arguments on top of `base`. Accepted, each as
  /// `--key=value` or `--key value`: `--name`, `--threads`, `--log-level`,
  /// `--scheduler`, `--stop-timeout-ms`, `--offload-threads`,
  /// `--offload-queue`, `--io-threads`, `--handle-signals[=true|false]`,
  /// `--host`, `--port`, `--metrics-port`, `--metrics[=true|false]`,
  /// `--networking[=true|false]`, `--heartbeat-ms`, `--connection-timeout-ms`,
  /// `--tls-certificate`, `--tls-key`, `--tls-ca` and `--config FILE` (read
  /// at its position, so later arguments override it).
  /// `args` excludes the program name. Errors: `errc::invalid_argument`
  /// naming the argument; `errc::invalid_config` for a bad config file.
  [[nodiscard]] static caf::expected<node_options>
  from_args(std::span<const char* const> args, node_options base);

  /// Parses command-line arguments on top of the defaults.
  [[nodiscard]] static caf::expected<node_options>
  from_args(std::span<const char* const> args);

  /// Convenience form of `from_args` for `main(argc, argv)`; skips argv[0].
  [[nodiscard]] static caf::expected<node_options>
  from_args(int argc, const char* const* argv);

  /// Reads the `[node]` table of a TOML file on top of `base`: keys `name`,
  /// `threads`, `log-level`, `scheduler`, `stop-timeout-ms`,
  /// `offload-threads`, `offload-queue`, `io-threads`, `handle-signals`,
  /// `host`, `port`, `metrics-port`, `metrics`, `networking`, `heartbeat-ms`,
  /// `connection-timeout-ms`, `tls-certificate`, `tls-key`, `tls-ca`. Errors:
  /// `errc::invalid_config` naming the file, and the line and column or the key
  /// at fault.
  [[nodiscard]] static caf::expected<node_options>
  from_file(const std::string& path, node_options base);

  /// Reads a TOML file on top of the defaults.
  [[nodiscard]] static caf::expected<node_options>
  from_file(const std::string& path);
};

} // namespace coactor
