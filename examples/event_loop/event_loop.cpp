// An actor as an event loop: a periodic timer, a one-shot timer, a cancelled
// timer, lines from a pipe read by an fd_reader's thread, and a graceful stop
// on SIGTERM (asyncio's call_later / add_reader / add_signal_handler).
#include <csignal>
#include <cstdio>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <unistd.h>

#include "coactor/error.hpp"
#include "coactor/fd_reader.hpp"
#include "coactor/node.hpp"
#include "coactor/timer.hpp"

using namespace std::chrono_literals;

namespace {

struct loop_state {
  int ticks = 0;
  int lines = 0;
  bool eof = false;
  bool cancelled_fired = false;
  bool one_shot_fired = false;
  coactor::timer heartbeat;
  // Stopped (its thread joined) when the actor's state goes.
  coactor::fd_reader reader;
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

caf::behavior event_loop(loop_ptr self, int fd) {
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
  // A thread of the reader's own reads the pipe; lines and the end arrive
  // here, in the actor.
  coactor::fd_reader_options opts;
  opts.name = "input pipe";
  auto reader = coactor::read_fd(
      self, fd,
      [self](std::string line) {
        ++self->state.lines;
        std::printf("line %d: %s\n", self->state.lines, line.c_str());
      },
      [self](caf::error end) {
        if (end)
          std::printf("input failed: %s\n", coactor::describe(end).c_str());
        self->state.eof = true;
        maybe_finish(self);
      },
      opts);
  if (reader)
    st.reader = std::move(*reader);
  else
    std::printf("cannot read the pipe: %s\n",
                coactor::describe(reader.error()).c_str());
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
  auto loop = n->spawn(event_loop, fds[0]);
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
  n->stop(); // ends the loop actor; its state stops the reader
  ::close(fds[0]);
  return 0;
}
