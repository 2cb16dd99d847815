// coactor::fd_reader: an external event source as a framework piece. A
// thread of its own reads a file descriptor (pipe, socket, terminal, file)
// and delivers its lines or chunks into an actor through bridges (asyncio's
// loop.add_reader / StreamReader).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/timespan.hpp>

#include "coactor/bridge.hpp"

namespace coactor {

/// How an `fd_reader` splits what it reads.
enum class fd_read_mode : uint8_t {
  /// One delivery per line, without its '\n'. A last line without '\n' is
  /// delivered at end of file; a line longer than `max_line` bytes is
  /// delivered in pieces of `max_line` bytes.
  lines,
  /// One delivery per successful read(2), as it came.
  chunks,
};

/// Options of an `fd_reader`.
struct fd_reader_options {
  /// Names the source in errors, e.g. "sensor pipe". Empty: "fd <n>".
  std::string name;
  /// Lines (default) or raw chunks.
  fd_read_mode mode = fd_read_mode::lines;
  /// Bytes asked of one read(2); at least 1.
  std::size_t read_size = 64 * 1024;
  /// Longest line delivered in one piece (lines mode); at least 1.
  std::size_t max_line = 1024 * 1024;
};

/// Counters of an `fd_reader`'s data deliveries (lines or chunks).
struct fd_reader_stats {
  /// Deliveries whose handler started in the actor.
  uint64_t delivered = 0;
  /// Deliveries dropped: the actor had exited, or the reader was stopped
  /// while they were on their way.
  uint64_t dropped = 0;
};

/// A thread that reads one file descriptor until end of file, a read error
/// or `stop()`, and hands each line (or chunk) to a bridge into an actor;
/// the end goes to a second bridge exactly once: a default-constructed
/// (empty) `caf::error` at end of file, `errc::io_error` naming the source
/// on a read failure (e.g. "'sensor pipe' (fd 7): read failed: Is a
/// directory"). Made with `read_fd` inside the actor, or `fd_reader::start`
/// from bridges made elsewhere.
///
/// Threading: `stop`, `wait`, `running` and `stats` may be called from any
/// thread except the reader's own (handlers run in actors, never there);
/// concurrent calls are safe. Handlers run in the bridges' actor, in the
/// order the data was read. The reading thread never blocks on actors: when
/// the actor is slow, its mailbox grows.
///
/// Ownership: RAII. The destructor stops the reader. The reader does not own
/// `fd` (close it after `stop` or after the end was delivered); it keeps
/// reading after the actor exited, and drops and counts what it read (so a
/// writer on the other end of a pipe does not block).
class fd_reader {
 public:
  /// A reader that reads nothing.
  fd_reader() noexcept;

  fd_reader(fd_reader&&) noexcept;

  /// Stops the reader this one held before taking over `other`'s.
  fd_reader& operator=(fd_reader&&) noexcept;

  fd_reader(const fd_reader&) = delete;
  fd_reader& operator=(const fd_reader&) = delete;

  /// Stops the reader (see `stop`).
  ~fd_reader();

  /// Starts a thread reading `fd`: each line or chunk goes to `on_data`, the
  /// end (see the class docs) once to `on_end`. Both bridges are stopped by
  /// `stop()`.
  ///
  /// Errors: `errc::invalid_argument` for a negative `fd`, an empty bridge or
  /// a zero size option; `errc::resource_exhausted` when the thread or its
  /// wake-up descriptor cannot be made.
  [[nodiscard]] static caf::expected<fd_reader>
  start(int fd, bridge<std::string> on_data, bridge<caf::error> on_end,
        fd_reader_options opts = {});

  /// Stops reading: wakes the thread if it waits for data, joins it and
  /// stops both bridges, so no handler starts after `stop` returns (data
  /// still on its way is dropped and counted; the end is not delivered if
  /// it was not yet). Returns promptly: the thread waits in poll(2) together
  /// with a wake-up descriptor, never in a blocking read. Idempotent.
  void stop() noexcept;

  /// Blocks until the thread ended by itself (end of file or read error:
  /// the end was handed to its bridge) or `timeout` passed; returns whether
  /// it ended. True for a stopped or empty reader. Never call it inside an
  /// actor.
  [[nodiscard]] bool wait(caf::timespan timeout) const;

  /// Returns whether the thread still reads (false after the end or `stop`).
  [[nodiscard]] bool running() const noexcept;

  /// Returns the data counters (exact once the reader ended and the actor
  /// processed or dropped what was on its way).
  [[nodiscard]] fd_reader_stats stats() const noexcept;

  /// Returns the source's name as used in errors, e.g. "'sensor' (fd 7)".
  [[nodiscard]] std::string describe() const;

 private:
  struct impl;
  explicit fd_reader(std::unique_ptr<impl> ptr) noexcept;
  std::unique_ptr<impl> impl_;
};

/// Starts an `fd_reader` into `self`: `on_data(std::string)` runs in `self`
/// for each line or chunk, `on_end(caf::error)` once at the end (empty error
/// at end of file). Both are destroyed in `self`'s context. Keep the
/// returned reader (e.g. in the actor's state): dropping it stops reading.
///
/// Threading: call from `self`'s own context (like `make_bridge`).
/// Errors: as `fd_reader::start`.
template <class OnData, class OnEnd>
[[nodiscard]] caf::expected<fd_reader>
read_fd(caf::scheduled_actor* self, int fd, OnData on_data, OnEnd on_end,
        fd_reader_options opts = {}) {
  auto data = make_bridge<std::string>(self, std::move(on_data));
  auto end = make_one_shot_bridge<caf::error>(self, std::move(on_end));
  auto res = fd_reader::start(fd, data, end, std::move(opts));
  if (!res) {
    // Release the handlers now rather than when the actor exits.
    data.stop();
    end.stop();
  }
  return res;
}

} // namespace coactor
