// Child processes of the benchmarks (wrk, the aiohttp baselines): started
// with posix_spawn, their stdout read through a pipe, always reaped.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace coactor::bench {

/// A running child whose stdout is a pipe to us. The destructor ends it
/// (SIGTERM, then SIGKILL after a second) and reaps it. Threading: one
/// thread.
class child {
 public:
  /// Starts `argv[0]` (looked up in PATH); throws when it cannot start.
  explicit child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe(fds) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    auto rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::runtime_error("cannot start " + argv[0]);
    }
    out_ = ::fdopen(fds[0], "r");
  }

  child(const child&) = delete;
  child& operator=(const child&) = delete;

  ~child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto deadline
          = std::chrono::steady_clock::now() + std::chrono::seconds{1};
      while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
      }
    }
    if (out_ != nullptr)
      std::fclose(out_);
  }

  /// Sends `sig` to the child (SIGINT makes wrk stop early and report).
  void send_signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  /// Reads one line of the child's stdout (without the newline); empty at
  /// end of output.
  std::string read_line() {
    std::string line;
    for (int c; (c = std::fgetc(out_)) != EOF && c != '\n';)
      line.push_back(static_cast<char>(c));
    return line;
  }

  /// Reads the child's stdout to its end, waits for it and returns the
  /// output; throws when it exits with a failure.
  std::string finish() {
    std::string all;
    for (int c; (c = std::fgetc(out_)) != EOF;)
      all.push_back(static_cast<char>(c));
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("a child process failed; its output:\n" + all);
    return all;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

/// Raises this process' soft limit of open files to `n` (at most to the
/// hard limit): the HTTP benchmarks hold both ends of thousands of
/// connections.
inline void raise_open_files(rlim_t n) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur >= n)
    return;
  lim.rlim_cur = std::min(n, lim.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

} // namespace coactor::bench
