// Test support: a child process owned by RAII (killed and reaped in the
// destructor, even when the test fails), with bounded waits on its output and
// its exit.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace coactor::testing {

/// A running child process with its stdout piped to the test (stderr is
/// inherited). Move-only; the destructor sends SIGKILL if the child still
/// runs and always reaps it.
class child_process {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts `argv[0]` with arguments `argv[1..]`. Returns nullopt (and
  /// reports why on stderr) when it cannot.
  static std::optional<child_process> start(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return std::nullopt;
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    auto pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return std::nullopt;
    }
    if (pid == 0) {
      // Die with the test process, even when it crashes.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(fds[1], STDOUT_FILENO);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    child_process result;
    result.pid_ = pid;
    result.out_ = fds[0];
    return result;
  }

  child_process(child_process&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        out_(std::exchange(other.out_, -1)), buf_(std::move(other.buf_)),
        output_(std::move(other.output_)), status_(other.status_) {}

  child_process& operator=(child_process&& other) noexcept {
    if (this != &other) {
      reap();
      pid_ = std::exchange(other.pid_, -1);
      out_ = std::exchange(other.out_, -1);
      buf_ = std::move(other.buf_);
      output_ = std::move(other.output_);
      status_ = other.status_;
    }
    return *this;
  }

  ~child_process() { reap(); }

  /// Returns the process id (-1 after it was reaped).
  pid_t pid() const noexcept { return pid_; }

  /// Returns everything read from its stdout so far.
  const std::string& output() const noexcept { return output_; }

  /// Reads lines until one matches `re` (returning its match results) or
  /// `timeout` passed or the output ended (returning nullopt).
  std::optional<std::smatch> wait_for_line(const std::regex& re,
                                           std::chrono::milliseconds timeout) {
    auto until = clock::now() + timeout;
    for (;;) {
      for (auto pos = buf_.find('\n'); pos != std::string::npos;
           pos = buf_.find('\n')) {
        line_ = buf_.substr(0, pos);
        buf_.erase(0, pos + 1);
        std::smatch m;
        if (std::regex_search(line_, m, re))
          return m;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - clock::now());
      if (left.count() <= 0 || out_ < 0)
        return std::nullopt;
      pollfd pfd{out_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char chunk[4096];
      auto n = ::read(out_, chunk, sizeof(chunk));
      if (n <= 0) {
        ::close(out_);
        out_ = -1;
        continue;
      }
      buf_.append(chunk, static_cast<size_t>(n));
      output_.append(chunk, static_cast<size_t>(n));
    }
  }

  /// Sends `sig` to the child (no-op once reaped).
  void signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  /// Waits at most `timeout` for the child to exit; returns its wait status
  /// (see WIFEXITED etc.), or nullopt if it still runs.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0)
      return status_;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      pollfd pfd{pidfd, POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(timeout.count()));
      ::close(pidfd);
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = status;
      close_out();
      return status;
    }
    return std::nullopt;
  }

 private:
  child_process() = default;

  void close_out() {
    if (out_ >= 0) {
      ::close(out_);
      out_ = -1;
    }
  }

  void reap() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    close_out();
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
  std::string line_;
  std::string output_;
  std::optional<int> status_;
};

} // namespace coactor::testing
