// `coactor run spec.toml`: validates a pipeline spec, runs it on a local
// node with progress on stderr (a live line on a terminal, plain periodic
// lines otherwise), and prints the summary. SIGINT/SIGTERM cancel the run
// gracefully; the summary is still printed.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/spec/plan.hpp"
#include "commands.hpp"

namespace coactor::tool {

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_interrupt(int) {
  interrupted = 1;
}

struct run_settings {
  std::string path;
  std::vector<std::string> sets;
  bool dry_run = false;
  size_t threads = 0;
  size_t interval_ms = 0;
  std::string progress = "auto";
};

double per_second(uint64_t n, std::chrono::nanoseconds d) {
  auto s = std::chrono::duration<double>(d).count();
  return s > 0 ? static_cast<double>(n) / s : 0.0;
}

// The time the sources still need at their pace so far (the slowest
// one's), when every source knows how far it got.
std::optional<double> eta_seconds(const spec::plan& p,
                                  const actors::pipeline_summary& snap,
                                  std::chrono::nanoseconds elapsed) {
  auto t = std::chrono::duration<double>(elapsed).count();
  double worst = 0;
  for (auto& src : p.sources) {
    if (!src.source.done)
      return std::nullopt;
    auto* st = snap.stage(src.name);
    auto f = src.source.done(st != nullptr ? st->out : 0);
    if (!f || *f <= 0)
      return std::nullopt;
    if (*f < 1)
      worst = std::max(worst, t * (1 - *f) / *f);
  }
  return worst;
}

// One progress line: totals, buffer fill, then per stage its items out and
// the rate since the previous line, then the ETA when the sources know
// their size.
std::string progress_line(const spec::plan& p,
                          const actors::running_pipeline& r,
                          std::vector<uint64_t>& last,
                          std::chrono::nanoseconds since_last) {
  auto pr = r.progress();
  auto snap = r.snapshot();
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  os << "progress: " << std::chrono::duration<double>(pr.elapsed).count()
     << "s produced " << pr.produced << ", consumed " << pr.consumed
     << ", dropped " << pr.dropped;
  if (pr.buffer_capacity > 0)
    os << ", buffers " << pr.buffered << '/' << pr.buffer_capacity;
  last.resize(snap.stages.size(), 0);
  for (size_t i = 0; i < snap.stages.size(); ++i) {
    auto& s = snap.stages[i];
    auto n = s.kind == "consumer" ? s.in : s.out;
    os << " | " << s.name << ' ' << n << " ("
       << per_second(n - std::min(n, last[i]), since_last) << "/s)";
    last[i] = n;
  }
  if (auto eta = eta_seconds(p, snap, pr.elapsed))
    os << " | eta " << *eta << 's';
  return os.str();
}

int run(const run_settings& s) {
  auto plan = load_spec(s.path, s.sets, "run");
  if (!plan)
    return exit_spec_error;
  if (s.dry_run) {
    std::cout << plan->to_string() << std::flush;
    return exit_ok;
  }
  node_options opts;
  opts.name = plan->name.empty() ? "coactor-run" : plan->name;
  opts.log_level = log::level::warn;
  if (s.threads > 0)
    opts.threads = s.threads;
  else if (plan->threads > 0)
    opts.threads = plan->threads;
  auto n = node::create(opts);
  if (!n) {
    std::cerr << "coactor run: " << describe(n.error()) << '\n';
    return exit_runtime_failure;
  }
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  auto pipeline = spec::build(*n, *plan);
  auto done = std::make_shared<
      std::promise<caf::expected<actors::pipeline_summary>>>();
  auto result = done->get_future();
  auto running
      = pipeline.start([done](auto r) { done->set_value(std::move(r)); });
  if (!running) {
    std::cerr << "coactor run: " << describe(running.error()) << '\n';
    return exit_runtime_failure;
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  const bool show = s.progress != "off";
  const bool live = tty && s.progress != "plain";
  auto interval = std::chrono::milliseconds{
      s.interval_ms > 0 ? s.interval_ms : (live ? 200 : 1000)};
  std::vector<uint64_t> last;
  auto last_at = std::chrono::steady_clock::now();
  bool cancelled = false;
  for (;;) {
    // Short waits: a signal is noticed within 50 ms.
    if (result.wait_for(std::chrono::milliseconds{50})
        == std::future_status::ready)
      break;
    if (interrupted != 0 && !cancelled) {
      cancelled = true;
      running->cancel();
    }
    auto now = std::chrono::steady_clock::now();
    if (show && now - last_at >= interval) {
      auto line = progress_line(*plan, *running, last, now - last_at);
      last_at = now;
      if (live)
        std::cerr << '\r' << line << "\x1b[K" << std::flush;
      else
        std::cerr << line << std::endl;
    }
  }
  if (show && live)
    std::cerr << '\n';
  auto summary = result.get();
  int rc = exit_ok;
  if (!summary) {
    if (cancelled) {
      std::cerr << "coactor run: interrupted, pipeline cancelled\n";
      rc = exit_interrupted;
    } else {
      std::cerr << "coactor run: failed: " << describe(summary.error()) << '\n';
      rc = exit_runtime_failure;
    }
    std::cerr << "summary:\n" << running->snapshot().to_string();
  } else {
    std::cerr << "summary:\n" << summary->to_string();
  }
  std::cerr << std::flush;
  if (!n->stop().clean() && rc == exit_ok)
    rc = exit_runtime_failure;
  return rc;
}

} // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto s = std::make_shared<run_settings>();
  auto* cmd = app.add_subcommand(
      "run",
      "Validate and run a pipeline spec (docs/specs.md). Progress and the "
      "summary go to stderr, the items of a stdout sink to stdout. Exit "
      "codes: 0 ok, 1 runtime failure, 2 spec error, 130 interrupted.");
  cmd->add_option("spec", s->path, "The spec file (TOML)")->required();
  cmd->add_option("--set", s->sets, "NAME=VALUE for ${NAME} in the spec");
  cmd->add_flag("--dry-run", s->dry_run,
                "Validate and print the plan; run nothing");
  cmd->add_option("--threads", s->threads,
                  "Scheduler threads (default: [pipeline] threads, or cores)");
  cmd->add_option("--progress", s->progress,
                  "auto (live line on a terminal, plain lines otherwise), "
                  "plain, off")
      ->check(CLI::IsMember({"auto", "plain", "off", "on"}))
      ->capture_default_str();
  cmd->add_option("--progress-interval-ms", s->interval_ms,
                  "Between progress lines (default 200 live, 1000 plain)");
  return [s] {
    return run(*s);
  };
}

} // namespace coactor::tool
