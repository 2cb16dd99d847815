// Process-wide SIGINT/SIGTERM watcher shared by the nodes that ask for it.
// A signal handler may only do async-signal-safe work, so it writes the signal
// number to a self-pipe; a watcher thread reads it and asks the subscribed
// nodes to stop.
#include <algorithm>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "node_context.hpp"

namespace coactor::detail {

namespace {

int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int signo) {
  auto saved = errno;
  auto byte = static_cast<unsigned char>(signo);
  [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

class signal_watcher {
 public:
  void subscribe(const std::shared_ptr<node_context>& ctx) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (subscribers_.empty())
      install();
    subscribers_.push_back(ctx);
  }

  void unsubscribe(const node_context* ctx) {
    std::thread watcher;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = std::remove_if(subscribers_.begin(), subscribers_.end(),
                              [ctx](const std::weak_ptr<node_context>& x) {
                                auto ptr = x.lock();
                                return !ptr || ptr.get() == ctx;
                              });
      if (i == subscribers_.end())
        return;
      subscribers_.erase(i, subscribers_.end());
      if (!subscribers_.empty())
        return;
      uninstall();
      watcher.swap(watcher_);
    }
    if (watcher.joinable()) {
      if (watcher.get_id() == std::this_thread::get_id())
        watcher.detach();
      else
        watcher.join();
    }
    std::lock_guard<std::mutex> guard{mtx_};
    if (subscribers_.empty() && !watcher_.joinable()) {
      ::close(signal_pipe[0]);
      ::close(signal_pipe[1]);
      signal_pipe[0] = signal_pipe[1] = -1;
    }
  }

 private:
  void install() {
    if (signal_pipe[0] < 0) {
      [[maybe_unused]] auto rc = ::pipe2(signal_pipe, O_CLOEXEC);
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    watcher_ = std::thread{[this] {
      run();
    }};
  }

  // Called with mtx_ held: restores the handlers and wakes the watcher with a
  // zero byte, which tells it to quit.
  void uninstall() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    unsigned char stop = 0;
    [[maybe_unused]] auto n = ::write(signal_pipe[1], &stop, 1);
  }

  void run() {
    for (;;) {
      unsigned char byte = 0;
      auto n = ::read(signal_pipe[0], &byte, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || byte == 0)
        return;
      std::vector<std::shared_ptr<node_context>> targets;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        for (auto& weak : subscribers_)
          if (auto ptr = weak.lock())
            targets.push_back(std::move(ptr));
      }
      for (auto& ctx : targets) {
        ctx->logger("node")->info("received signal {}, stopping", int{byte});
        ctx->request_stop();
      }
    }
  }

  std::mutex mtx_;
  std::vector<std::weak_ptr<node_context>> subscribers_;
  std::thread watcher_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

signal_watcher& watcher() {
  static signal_watcher instance;
  return instance;
}

} // namespace

void subscribe_signals(const std::shared_ptr<node_context>& ctx) {
  watcher().subscribe(ctx);
}

void unsubscribe_signals(const node_context* ctx) {
  watcher().unsubscribe(ctx);
}

} // namespace coactor::detail
