// A legacy object with start()/stop() whose background thread reports jobs
// through a callback, owned by an actor: after stop(), late callbacks are
// dropped and counted; a failing job is logged with its context.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "coactor/error.hpp"
#include "coactor/gateway.hpp"
#include "coactor/node.hpp"
#include "start_stop.hpp"

using namespace std::chrono_literals;

namespace {

// A typical callback-style component: jobs 1..10 run on its own thread (job
// 3 fails), then it idles until stop(); while shutting down it still reports
// three more jobs, after stop() was called: the classic late callback.
class threaded_source final : public start_stop::job_source {
 public:
  ~threaded_source() override { stop(); }

  void start(callback cb) override {
    worker_ = std::thread{[this, cb = std::move(cb)] {
      for (int job = 1; job <= 10; ++job) {
        if (job == 3)
          cb(job, coactor::make_error(coactor::errc::unhandled_exception,
                                      "disk full"));
        else
          cb(job, job * job);
      }
      {
        std::unique_lock<std::mutex> guard{mtx_};
        cv_.wait(guard, [this] { return stopping_; });
      }
      for (int job = 11; job <= 13; ++job)
        cb(job, job * job); // after stop(): must not touch the actor
    }};
  }

  void stop() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable())
      worker_.join();
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread worker_;
};

} // namespace

int main(int argc, char** argv) {
  auto opts = coactor::node_options::from_args(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "%s\n", coactor::describe(opts.error()).c_str());
    return 1;
  }
  auto n = coactor::node::create(*opts);
  if (!n) {
    std::fprintf(stderr, "%s\n", coactor::describe(n.error()).c_str());
    return 1;
  }
  auto source = std::make_shared<threaded_source>();
  auto mon = n->spawn(start_stop::monitor, "sensor-A", source);
  caf::anon_send(mon, start_stop::start_atom::value);
  // Wait (bounded) until all ten jobs reported.
  auto seen = coactor::ask_future<uint64_t>(
                  *n, mon, 10s, start_stop::wait_atom::value, uint64_t{10})
                  .get();
  if (!seen) {
    std::fprintf(stderr, "%s\n", coactor::describe(seen.error()).c_str());
    return 1;
  }
  auto sum = coactor::ask_future<start_stop::summary>(
                 *n, mon, 10s, start_stop::stop_atom::value)
                 .get();
  if (!sum || sum->size() != 3) {
    std::fprintf(stderr, "stop failed\n");
    return 1;
  }
  std::printf("completed %llu, failed %llu, late callbacks dropped %llu\n",
              static_cast<unsigned long long>((*sum)[0]),
              static_cast<unsigned long long>((*sum)[1]),
              static_cast<unsigned long long>((*sum)[2]));
  mon = nullptr;
  return n->stop().clean() ? 0 : 1;
}
