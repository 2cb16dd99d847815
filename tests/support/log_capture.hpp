// Test helper: a spdlog sink that keeps every formatted line in memory.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>

namespace coactor::testing {

/// Collects formatted log lines; pass it as `node_options::log_sink`.
class log_capture : public spdlog::sinks::base_sink<std::mutex> {
 public:
  /// Returns a copy of every line written so far.
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> guard{this->mutex_};
    return lines_;
  }

  /// Returns whether some line contains all of `parts`.
  bool contains(std::initializer_list<std::string_view> parts) {
    for (auto& line : lines()) {
      bool all = true;
      for (auto part : parts)
        all = all && line.find(part) != std::string::npos;
      if (all)
        return true;
    }
    return false;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    this->formatter_->format(msg, buf);
    lines_.emplace_back(buf.data(), buf.size());
  }

  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

} // namespace coactor::testing
