// The commit file of a producer's `commit_to`: one decimal count.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "coactor/actors/producer.hpp"
#include "coactor/error.hpp"

namespace coactor::actors {

namespace detail {

caf::error write_committed(const std::string& path, uint64_t n) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << n << '\n';
    out.flush();
    if (!out)
      return make_error(errc::io_error,
                        "cannot write commit file '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(errc::io_error, "cannot replace commit file '" + path
                                          + "': " + std::strerror(errno));
  return {};
}

} // namespace detail

caf::expected<uint64_t> committed(const std::string& path) {
  // Asked before opening: a failed ifstream does not promise errno.
  std::error_code fs_ec;
  if (!std::filesystem::exists(path, fs_ec) && !fs_ec)
    return uint64_t{0};
  std::ifstream in{path};
  if (!in)
    return make_error(errc::io_error, "cannot read commit file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  auto s = text.str();
  if (!s.empty() && s.back() == '\n')
    s.pop_back();
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
    return make_error(errc::invalid_argument, "commit file '" + path
                                                  + "' holds no count: '"
                                                  + s.substr(0, 40) + "'");
  return n;
}

} // namespace coactor::actors
