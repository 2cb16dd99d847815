// The thread behind coactor::fd_reader.
#include "coactor/fd_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "coactor/error.hpp"

namespace coactor {

struct fd_reader::impl {
  impl(int fd, bridge<std::string> on_data, bridge<caf::error> on_end,
       fd_reader_options opts, int wake_fd)
      : fd(fd), wake_fd(wake_fd), on_data(std::move(on_data)),
        on_end(std::move(on_end)), opts(std::move(opts)) {}

  ~impl() {
    if (wake_fd >= 0)
      ::close(wake_fd);
  }

  const int fd;
  const int wake_fd;
  const bridge<std::string> on_data;
  const bridge<caf::error> on_end;
  const fd_reader_options opts;

  // Serialises stop(): joining twice is undefined, and a second caller
  // must not return before the first finished.
  std::mutex stop_mtx;
  bool stopped = false; // guarded by stop_mtx
  // Guards `ended`.
  mutable std::mutex mtx;
  mutable std::condition_variable cv;
  bool ended = false; // the thread is done (by itself or stopped)
  std::thread thread;

  std::string describe() const {
    auto fd_text = "fd " + std::to_string(fd);
    if (opts.name.empty())
      return fd_text;
    return "'" + opts.name + "' (" + fd_text + ")";
  }

  caf::error io_error(const char* what, int err) const {
    return make_error(errc::io_error,
                      describe() + ": " + what + ": " + std::strerror(err));
  }

  void finish() {
    std::lock_guard<std::mutex> guard{mtx};
    ended = true;
    cv.notify_all();
  }

  void run() noexcept {
    try {
      read_loop();
    } catch (...) {
      // Out of memory while splitting: report it as the end.
      on_end(make_error(errc::resource_exhausted,
                        describe() + ": out of memory while reading"));
    }
    finish();
  }

  // Returns when the end was delivered or stop() woke the thread.
  void read_loop() {
    std::vector<char> buf(opts.read_size);
    std::string line;
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    for (;;) {
      fds[0].revents = 0;
      fds[1].revents = 0;
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR)
          continue;
        on_end(io_error("poll failed", errno));
        return;
      }
      if (fds[1].revents != 0)
        return; // stop(): no end delivery
      if ((fds[0].revents & POLLNVAL) != 0) {
        on_end(io_error("read failed", EBADF));
        return;
      }
      // POLLIN, POLLHUP or POLLERR: read(2) tells which.
      auto n = ::read(fd, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
          continue;
        on_end(io_error("read failed", errno));
        return;
      }
      if (n == 0) {
        if (!line.empty())
          on_data(std::move(line));
        on_end(caf::error{});
        return;
      }
      if (opts.mode == fd_read_mode::chunks)
        on_data(std::string{buf.data(), static_cast<size_t>(n)});
      else
        split_lines(buf.data(), static_cast<size_t>(n), line);
    }
  }

  void split_lines(const char* p, size_t n, std::string& line) {
    const char* end = p + n;
    while (p < end) {
      auto* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
      const char* stop_at = nl != nullptr ? nl : end;
      while (p < stop_at) {
        // A full line goes out as a piece only once more of it arrives, so
        // a line of exactly max_line bytes stays one line.
        if (line.size() == opts.max_line) {
          on_data(std::move(line));
          line.clear();
        }
        auto take = std::min(opts.max_line - line.size(),
                             static_cast<size_t>(stop_at - p));
        line.append(p, take);
        p += take;
      }
      if (nl != nullptr) {
        on_data(std::move(line));
        line.clear();
        p = nl + 1;
      }
    }
  }
};

fd_reader::fd_reader() noexcept = default;

fd_reader::fd_reader(std::unique_ptr<impl> ptr) noexcept
    : impl_(std::move(ptr)) {}

fd_reader::fd_reader(fd_reader&&) noexcept = default;

fd_reader& fd_reader::operator=(fd_reader&& other) noexcept {
  if (this != &other) {
    stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

fd_reader::~fd_reader() {
  stop();
}

caf::expected<fd_reader> fd_reader::start(int fd, bridge<std::string> on_data,
                                          bridge<caf::error> on_end,
                                          fd_reader_options opts) {
  if (fd < 0)
    return make_error(errc::invalid_argument,
                      "fd_reader: negative file descriptor "
                          + std::to_string(fd));
  if (!on_data || !on_end)
    return make_error(errc::invalid_argument, "fd_reader: empty bridge");
  if (opts.read_size == 0 || opts.max_line == 0)
    return make_error(errc::invalid_argument,
                      "fd_reader: read_size and max_line must be positive");
  auto wake_fd = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd < 0)
    return make_error(errc::resource_exhausted,
                      std::string{"fd_reader: eventfd failed: "}
                          + std::strerror(errno));
  auto ptr = std::make_unique<impl>(fd, std::move(on_data), std::move(on_end),
                                    std::move(opts), wake_fd);
  try {
    ptr->thread = std::thread{[raw = ptr.get()] {
      raw->run();
    }};
  } catch (const std::system_error& e) {
    return make_error(errc::resource_exhausted,
                      ptr->describe()
                          + ": cannot start the reader thread: " + e.what());
  }
  return fd_reader{std::move(ptr)};
}

void fd_reader::stop() noexcept {
  if (!impl_)
    return;
  auto& d = *impl_;
  std::lock_guard<std::mutex> stop_guard{d.stop_mtx};
  if (d.stopped)
    return;
  d.stopped = true;
  uint64_t one = 1;
  // Cannot fail short of a full counter (2^64 - 2 wake-ups).
  [[maybe_unused]] auto written = ::write(d.wake_fd, &one, sizeof(one));
  if (d.thread.joinable())
    d.thread.join();
  d.finish();
  d.on_data.stop();
  d.on_end.stop();
}

bool fd_reader::wait(caf::timespan timeout) const {
  if (!impl_)
    return true;
  auto& d = *impl_;
  std::unique_lock<std::mutex> guard{d.mtx};
  return d.cv.wait_for(guard, timeout, [&d] { return d.ended; });
}

bool fd_reader::running() const noexcept {
  if (!impl_)
    return false;
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return !impl_->ended;
}

fd_reader_stats fd_reader::stats() const noexcept {
  if (!impl_)
    return {};
  auto s = impl_->on_data.stats();
  return {s.delivered, s.dropped};
}

std::string fd_reader::describe() const {
  return impl_ ? impl_->describe() : std::string{"no source"};
}

} // namespace coactor
