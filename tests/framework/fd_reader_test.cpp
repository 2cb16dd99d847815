#include "coactor/fd_reader.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "coactor/error.hpp"
#include "coactor/gateway.hpp"
#include "support/deterministic.hpp"

using namespace coactor;
using namespace std::chrono_literals;

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;

using bridges = std::pair<bridge<std::string>, bridge<caf::error>>;

struct outcome {
  std::vector<std::string> items;
  caf::error end;
};

struct sink_state {
  std::vector<std::string> items;
  int ends = 0;
  std::promise<void>* first = nullptr;
  std::promise<outcome>* done = nullptr;
};

/// Collects what a reader delivers and counts end deliveries. The end
/// bridge is a repeating one, so a reader that delivered its end twice
/// would be seen.
caf::behavior sink(caf::stateful_actor<sink_state>* self,
                   std::promise<bridges>* made, std::promise<void>* first,
                   std::promise<outcome>* done) {
  self->state.first = first;
  self->state.done = done;
  auto data = make_bridge(self, [self](std::string x) {
    auto& st = self->state;
    st.items.push_back(std::move(x));
    if (st.items.size() == 1)
      st.first->set_value();
  });
  auto end = make_bridge(self, [self](caf::error err) {
    auto& st = self->state;
    if (++st.ends == 1)
      st.done->set_value(outcome{st.items, std::move(err)});
  });
  made->set_value({data, end});
  return {[self](get_atom) {
    return self->state.ends;
  }};
}

/// A node on real threads, a sink actor and a pipe.
struct reader_fixture {
  std::promise<bridges> made;
  std::promise<void> first;
  std::promise<outcome> done;
  node n;
  caf::actor hdl;
  bridges out;
  int rd = -1;
  int wr = -1;

  reader_fixture() : n(testing::make_node(real_options())) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    rd = fds[0];
    wr = fds[1];
    hdl = n.spawn(sink, &made, &first, &done);
    auto f = made.get_future();
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    out = f.get();
  }

  ~reader_fixture() {
    out.first.stop();
    out.second.stop();
    hdl = nullptr;
    n.stop();
    close_writer();
    if (rd >= 0)
      ::close(rd);
  }

  static node_options real_options() {
    auto opts = testing::deterministic_options();
    opts.policy = node_options{}.policy; // the default, real scheduler
    opts.threads = 2;
    return opts;
  }

  void write_all(const std::string& text) {
    size_t off = 0;
    while (off < text.size()) {
      auto n = ::write(wr, text.data() + off, text.size() - off);
      REQUIRE(n > 0);
      off += static_cast<size_t>(n);
    }
  }

  void close_writer() {
    if (wr >= 0)
      ::close(wr);
    wr = -1;
  }

  int ends_seen() {
    auto res = ask_future<int>(n, hdl, 30s, get_atom::value).get();
    REQUIRE(res);
    return *res;
  }

  outcome await_end() {
    auto f = done.get_future();
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
  }
};

} // namespace

TEST_CASE_METHOD(reader_fixture,
                 "an fd_reader delivers every line once and in order, then "
                 "the end of file once",
                 "[framework]") {
  fd_reader_options opts;
  opts.read_size = 4096; // lines straddle reads
  auto reader = fd_reader::start(rd, out.first, out.second, opts);
  REQUIRE(reader);
  std::vector<std::string> expected;
  std::string text;
  for (int i = 0; i < 20'000; ++i) {
    expected.push_back("line " + std::to_string(i));
    text += expected.back() + '\n';
  }
  expected.push_back("tail without newline");
  text += expected.back();
  std::thread writer{[this, &text] {
    // Uneven writes, so that reads end anywhere inside a line.
    size_t off = 0;
    for (size_t step = 1; off < text.size(); step = step * 7 % 1009 + 1) {
      auto len = std::min(step, text.size() - off);
      write_all(text.substr(off, len));
      off += len;
    }
    close_writer();
  }};
  auto res = await_end();
  writer.join();
  CHECK_FALSE(res.end);
  CHECK(res.items == expected);
  REQUIRE(reader->wait(30s));
  CHECK_FALSE(reader->running());
  CHECK(ends_seen() == 1);
  CHECK(reader->stats().delivered == expected.size());
  CHECK(reader->stats().dropped == 0);
}

TEST_CASE_METHOD(reader_fixture,
                 "lines longer than max_line arrive in pieces of max_line",
                 "[framework]") {
  fd_reader_options opts;
  opts.max_line = 4;
  auto reader = fd_reader::start(rd, out.first, out.second, opts);
  REQUIRE(reader);
  write_all("abcdefghij\nabcd\n\nxy");
  close_writer();
  auto res = await_end();
  CHECK_FALSE(res.end);
  CHECK(res.items
        == std::vector<std::string>{"abcd", "efgh", "ij", "abcd", "", "xy"});
}

TEST_CASE_METHOD(reader_fixture,
                 "chunks mode delivers the bytes as they were read",
                 "[framework]") {
  fd_reader_options opts;
  opts.mode = fd_read_mode::chunks;
  auto reader = fd_reader::start(rd, out.first, out.second, opts);
  REQUIRE(reader);
  write_all("a\nb");
  close_writer();
  auto res = await_end();
  CHECK_FALSE(res.end);
  std::string all;
  for (auto& x : res.items)
    all += x;
  CHECK(all == "a\nb");
}

TEST_CASE_METHOD(reader_fixture,
                 "stop while the reader waits for data returns, joins the "
                 "thread and delivers nothing more",
                 "[framework]") {
  auto reader = fd_reader::start(rd, out.first, out.second);
  REQUIRE(reader);
  write_all("one\n");
  REQUIRE(first.get_future().wait_for(30s) == std::future_status::ready);
  // The reader now waits for more data that never comes (the writer stays
  // open): stop must wake it.
  auto stopping = std::async(std::launch::async, [&] { reader->stop(); });
  REQUIRE(stopping.wait_for(30s) == std::future_status::ready);
  CHECK_FALSE(reader->running());
  CHECK(reader->wait(0s));
  write_all("two\n");
  close_writer();
  CHECK(out.first.stopped());
  CHECK(reader->stats().delivered == 1);
  CHECK(ends_seen() == 0); // stopping is not an end
  reader->stop();          // idempotent
}

TEST_CASE_METHOD(reader_fixture,
                 "destroying a reader stops it while it waits for data",
                 "[framework]") {
  {
    auto reader = fd_reader::start(rd, out.first, out.second);
    REQUIRE(reader);
  } // joins here; a hang fails the suite's timeout
  CHECK(out.first.stopped());
  CHECK(out.second.stopped());
}

TEST_CASE_METHOD(reader_fixture,
                 "a read error ends the reader once with an io_error naming "
                 "the source",
                 "[framework]") {
  // read(2) on a directory fails with EISDIR.
  int dir = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir >= 0);
  fd_reader_options opts;
  opts.name = "root dir";
  auto reader = fd_reader::start(dir, out.first, out.second, opts);
  REQUIRE(reader);
  auto res = await_end();
  REQUIRE(reader->wait(30s));
  INFO(describe(res.end));
  CHECK(is(res.end, errc::io_error));
  auto ctx = context_of(res.end);
  CHECK(ctx.find("'root dir' (fd " + std::to_string(dir) + ")")
        != std::string::npos);
  CHECK(ctx.find("read failed") != std::string::npos);
  CHECK(res.items.empty());
  CHECK(ends_seen() == 1);
  CHECK(reader->describe() == "'root dir' (fd " + std::to_string(dir) + ")");
  reader->stop();
  ::close(dir);
}

TEST_CASE_METHOD(reader_fixture,
                 "data read after the actor exited is dropped and counted, "
                 "not a crash",
                 "[framework]") {
  auto reader = fd_reader::start(rd, out.first, out.second);
  REQUIRE(reader);
  {
    caf::scoped_actor self{n.system()};
    self->monitor(hdl);
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; },
                  caf::after(30s) >> [] {});
    REQUIRE(down);
  }
  write_all("late 1\nlate 2\nlate 3\n");
  close_writer();
  REQUIRE(reader->wait(30s));
  CHECK(reader->stats().delivered == 0);
  CHECK(reader->stats().dropped == 3);
}

TEST_CASE_METHOD(reader_fixture, "fd_reader rejects bad arguments",
                 "[framework]") {
  auto r1 = fd_reader::start(-1, out.first, out.second);
  REQUIRE_FALSE(r1);
  CHECK(is(r1.error(), errc::invalid_argument));
  auto r2 = fd_reader::start(rd, bridge<std::string>{}, out.second);
  REQUIRE_FALSE(r2);
  CHECK(is(r2.error(), errc::invalid_argument));
  fd_reader_options opts;
  opts.read_size = 0;
  auto r3 = fd_reader::start(rd, out.first, out.second, opts);
  REQUIRE_FALSE(r3);
  CHECK(is(r3.error(), errc::invalid_argument));
  fd_reader empty;
  CHECK_FALSE(empty.running());
  CHECK(empty.wait(0s));
  empty.stop();
}

namespace {

struct owner_state {
  fd_reader reader;
  std::vector<std::string> lines;
};

caf::behavior reader_owner(caf::stateful_actor<owner_state>* self, int fd,
                           std::promise<outcome>* done) {
  auto res = read_fd(
      self, fd, [self](std::string line) { self->state.lines.push_back(line); },
      [self, done](caf::error err) {
        done->set_value(outcome{self->state.lines, std::move(err)});
      });
  if (res)
    self->state.reader = std::move(*res);
  else
    done->set_value(outcome{{}, res.error()});
  return {[](get_atom) {
  }};
}

} // namespace

TEST_CASE("read_fd runs the handlers in the actor, and the actor's state "
          "owns the reader",
          "[framework]") {
  auto n = testing::make_node(reader_fixture::real_options());
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::promise<outcome> done;
  auto hdl = n.spawn(reader_owner, fds[0], &done);
  const std::string text = "alpha\nbeta\n";
  REQUIRE(::write(fds[1], text.data(), text.size())
          == static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  auto f = done.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto res = f.get();
  CHECK_FALSE(res.end);
  CHECK(res.items == std::vector<std::string>{"alpha", "beta"});
  hdl = nullptr;
  CHECK(n.stop().clean()); // ends the actor; its state stops the reader
  ::close(fds[0]);
}
