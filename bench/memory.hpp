// Memory figures shared by the benchmarks: the heap in use and the resident
// set of this process.
#pragma once

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <thread>

namespace coactor::bench {

/// Bytes of heap in use (every malloc arena and mmapped chunk), from glibc.
inline std::size_t heap_bytes() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/// Resident set size of this process in bytes, from /proc/self/statm.
inline std::size_t rss_bytes() {
  std::ifstream in{"/proc/self/statm"};
  std::size_t pages = 0;
  std::size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/// Waits until the heap stops moving (timers and I/O threads free and file
/// things asynchronously), for at most a second; returns `heap_bytes()`.
inline std::size_t settled_heap() {
  auto last = heap_bytes();
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    auto now = heap_bytes();
    if (now == last)
      return now;
    last = now;
  }
  return last;
}

} // namespace coactor::bench
