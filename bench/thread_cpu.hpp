// CPU time of this process's threads by role (the scheduler's workers, the
// node's I/O threads, the rest), from /proc/self/task, so that a benchmark
// can say where the cores went during a run.
#pragma once

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include <dirent.h>
#include <unistd.h>

namespace coactor::bench {

/// CPU seconds per thread id, with the thread's name, at one moment.
struct thread_times {
  std::map<int, std::pair<std::string, double>> threads;
  std::chrono::steady_clock::time_point at;

  /// Reads every thread of this process (threads that end later are still
  /// counted up to here). Threading: any thread; returns empty on errors.
  static thread_times now() {
    thread_times t;
    t.at = std::chrono::steady_clock::now();
    auto* dir = ::opendir("/proc/self/task");
    if (dir == nullptr)
      return t;
    auto tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    while (auto* e = ::readdir(dir)) {
      if (e->d_name[0] == '.')
        continue;
      std::ifstream f{std::string{"/proc/self/task/"} + e->d_name + "/stat"};
      std::string s{std::istreambuf_iterator<char>{f}, {}};
      auto open = s.find('(');
      auto close = s.rfind(')');
      if (open == std::string::npos || close == std::string::npos)
        continue;
      // After the name: state, then 10 fields, then utime and stime.
      std::istringstream rest{s.substr(close + 2)};
      std::string skip;
      for (int i = 0; i < 11; ++i)
        rest >> skip;
      long utime = 0;
      long stime = 0;
      rest >> utime >> stime;
      t.threads[std::atoi(e->d_name)]
          = {s.substr(open + 1, close - open - 1), (utime + stime) / tick};
    }
    ::closedir(dir);
    return t;
  }
};

/// Cores used between two readings, by role.
struct cores_by_role {
  double scheduler = 0; // "caf.multiplexer": coactor's and CAF's workers
  double io = 0;        // "coactor.io": the node's I/O threads
  double other = 0;     // main, CAF's clock, helpers

  /// Returns what the threads of `b` used since `a` (threads started in
  /// between count from zero), divided by the time between them.
  static cores_by_role between(const thread_times& a, const thread_times& b) {
    cores_by_role r;
    auto secs = std::chrono::duration<double>(b.at - a.at).count();
    if (secs <= 0)
      return r;
    for (const auto& [tid, t] : b.threads) {
      auto i = a.threads.find(tid);
      auto used = t.second - (i != a.threads.end() ? i->second.second : 0);
      auto& into = t.first == "caf.multiplexer" ? r.scheduler
                   : t.first == "coactor.io"    ? r.io
                                                : r.other;
      into += used / secs;
    }
    return r;
  }
};

} // namespace coactor::bench
