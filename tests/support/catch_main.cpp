// The one Catch2 main of every test executable.
//
// A test that dies of a signal in CI leaves only a line in a long log. Before
// Catch runs, this installs a handler that prints the dying thread's
// backtrace; Catch's own handler reports the test case first, then restores
// this one and re-raises. Test executables export their symbols
// (ENABLE_EXPORTS), so the frames carry names.
//
// CTest cuts test names at ';' (its list separator), and the cut name selects
// no test case, so such a test would pass without running. main refuses to
// start when a test case name holds one.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>

#include <execinfo.h>
#include <unistd.h>

namespace {

void write_str(const char* str) {
  auto ignored = ::write(STDERR_FILENO, str, std::strlen(str));
  static_cast<void>(ignored);
}

extern "C" void print_backtrace_and_die(int sig) {
  write_str("\n*** fatal signal ");
  write_str(sig == SIGABRT   ? "SIGABRT"
            : sig == SIGSEGV ? "SIGSEGV"
            : sig == SIGBUS  ? "SIGBUS"
                             : "SIGFPE/SIGILL");
  write_str(", backtrace of the thread that got it:\n");
  void* frames[64];
  auto n = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

} // namespace

int main(int argc, char* argv[]) {
  void* warm_up[1];
  ::backtrace(warm_up, 1); // loads libgcc now, not inside the handler
  for (auto sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
    std::signal(sig, print_backtrace_and_die);
  Catch::Session session;
  if (auto rc = session.applyCommandLine(argc, argv); rc != 0)
    return rc;
  auto bad = 0;
  for (auto& test : Catch::getAllTestCasesSorted(session.config())) {
    if (test.name.find(';') != std::string::npos) {
      write_str("test case name holds ';', which CTest cuts: ");
      write_str(test.name.c_str());
      write_str("\n");
      ++bad;
    }
  }
  return bad != 0 ? 1 : session.run();
}
