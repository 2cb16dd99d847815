// An actor as an event loop: a periodic timer, a one-shot timer, a cancelled
// timer, lines from a pipe read by a foreign thread, and a graceful stop on
// SIGTERM (asyncio's call_later / add_reader / add_signal_handler).
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <unistd.h>

#include "coactor/bridge.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/timer.hpp"

using namespace std::chrono_literals;

namespace {

/// Reads lines from `fd` on a thread of its own and hands each one to a
/// bridge; at end of file (or a read error) it calls `on_eof` once.
class line_reader {
 public:
  line_reader(int fd, coactor::bridge<std::string> on_line,
              coactor::bridge<> on_eof)
      : thread_([fd, on_line, on_eof] {
          std::string line;
          char buf[256];
          for (;;) {
            auto n = ::read(fd, buf, sizeof(buf));
            if (n <= 0)
              break;
            for (ssize_t i = 0; i < n; ++i) {
              if (buf[i] == '\n') {
                on_line(std::move(line)); // never blocks, never throws
                line.clear();
              } else {
                line += buf[i];
              }
            }
          }
          if (!line.empty())
            on_line(std::move(line));
          on_eof();
        }) {}

  ~line_reader() { thread_.join(); }

 private:
  std::thread thread_;
};

struct loop_state {
  int ticks = 0;
  int lines = 0;
  bool eof = false;
  bool cancelled_fired = false;
  bool one_shot_fired = false;
  coactor::timer heartbeat;
  static inline const char* name = "event_loop";
};

using loop_ptr = caf::stateful_actor<loop_state>*;

void maybe_finish(loop_ptr self) {
  auto& st = self->state;
  if (!st.eof || st.ticks < 3 || !st.one_shot_fired)
    return;
  st.heartbeat.cancel();
  std::printf("lines: %d, ticks: at least %d, one-shot fired: %s, "
              "cancelled timer fired: %s\n",
              st.lines, st.ticks, st.one_shot_fired ? "yes" : "no",
              st.cancelled_fired ? "yes" : "no");
  std::fflush(stdout);
  // The node handles SIGTERM (node_options::handle_signals): this is what
  // `kill <pid>` would do from outside.
  ::kill(::getpid(), SIGTERM);
}

caf::behavior event_loop(loop_ptr self, int fd,
                         std::shared_ptr<std::unique_ptr<line_reader>> out) {
  auto& st = self->state;
  st.heartbeat = coactor::call_every(self, 5ms, [self] {
    ++self->state.ticks;
    maybe_finish(self);
  });
  coactor::call_later(self, 20ms, [self] {
    self->state.one_shot_fired = true;
    maybe_finish(self);
  });
  auto never = coactor::call_later(
      self, 1h, [self] { self->state.cancelled_fired = true; });
  never.cancel();
  auto on_line = coactor::make_bridge(self, [self](std::string line) {
    ++self->state.lines;
    std::printf("line %d: %s\n", self->state.lines, line.c_str());
  });
  auto on_eof = coactor::make_one_shot_bridge(self, [self] {
    self->state.eof = true;
    maybe_finish(self);
  });
  *out = std::make_unique<line_reader>(fd, on_line, on_eof);
  return {[](caf::exit_msg&) {
  }};
}

} // namespace

int main(int argc, char** argv) {
  auto opts = coactor::node_options::from_args(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "%s\n", coactor::describe(opts.error()).c_str());
    return 1;
  }
  opts->handle_signals = true;
  auto n = coactor::node::create(*opts);
  if (!n) {
    std::fprintf(stderr, "%s\n", coactor::describe(n.error()).c_str());
    return 1;
  }
  int fds[2];
  if (::pipe(fds) != 0)
    return 1;
  auto reader = std::make_shared<std::unique_ptr<line_reader>>();
  auto loop = n->spawn(event_loop, fds[0], reader);
  for (const char* text : {"alpha\n", "beta\n", "gamma\n"})
    if (::write(fds[1], text, std::char_traits<char>::length(text)) < 0)
      return 1;
  ::close(fds[1]); // end of file for the reader
  if (!n->wait_for_stop(30s)) {
    std::fprintf(stderr, "no SIGTERM within 30 s\n");
    return 1;
  }
  std::printf("stopped by SIGTERM\n");
  loop = nullptr;
  n->stop();
  reader->reset(); // joins the reader thread (it ended at end of file)
  ::close(fds[0]);
  return 0;
}
