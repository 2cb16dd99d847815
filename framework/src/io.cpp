// The per-node I/O service: one Asio io_context run by the node's I/O threads.
#include "coactor/io.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "coactor/detail/caf_internals.hpp"
#include "coactor/node.hpp"
#include "node_context.hpp"

namespace coactor::io {

namespace {

namespace asio = boost::asio;

/// Threads start on the first `context()` call; `stop` (at node stop, after
/// the actors ended) lets queued handlers go and joins the threads.
class io_service final : public coactor::detail::node_service {
 public:
  explicit io_service(coactor::detail::node_context& ctx)
      : threads_wanted_(ctx.opts.io_threads), log_(ctx.logger("io")) {}

  ~io_service() override { stop(); }

  caf::expected<asio::io_context*> get() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopped_)
      return make_error(errc::node_stopped, "io: the node stopped");
    if (threads_.empty()) {
      guard_.emplace(asio::make_work_guard(ctx_));
      for (std::size_t i = 0; i < threads_wanted_; ++i)
        threads_.emplace_back([this] { run(); });
      log_->debug("started {} I/O thread(s)", threads_wanted_);
    }
    return &ctx_;
  }

  std::size_t running() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return threads_.size();
  }

  void stop() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopped_)
        return;
      stopped_ = true;
      guard_.reset();
      threads.swap(threads_);
    }
    ctx_.stop();
    for (auto& t : threads)
      t.join();
  }

 private:
  void run() {
    // Named, so that per-thread figures (top -H, perf, /proc) tell the I/O
    // threads from the scheduler's ("caf.multiplexer").
    coactor::detail::name_this_thread("coactor.io");
    // A handler that throws must not take the thread (and the node) down;
    // coactor's own handlers do not throw, a user's raw Asio handler might.
    for (;;) {
      try {
        ctx_.run();
        return;
      } catch (const std::exception& e) {
        log_->error("an I/O handler threw: {}", e.what());
      } catch (...) {
        log_->error("an I/O handler threw a non-exception");
      }
    }
  }

  const std::size_t threads_wanted_;
  std::shared_ptr<spdlog::logger> log_;
  asio::io_context ctx_;
  mutable std::mutex mtx_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      guard_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

} // namespace

caf::expected<asio::io_context*> context(caf::actor_system& sys) {
  auto* ctx = coactor::detail::node_context_of(sys);
  if (ctx == nullptr)
    return make_error(errc::invalid_argument,
                      "io::context: the actor system is not a coactor node's");
  if (!ctx->running())
    return make_error(errc::node_stopped, "io::context: the node stopped");
  return ctx->service<io_service>().get();
}

caf::expected<asio::io_context*> context(node& n) {
  if (!n.running())
    return make_error(errc::node_stopped, "io::context: the node stopped");
  return context(n.system());
}

std::size_t threads_running(caf::actor_system& sys) {
  auto* ctx = coactor::detail::node_context_of(sys);
  return ctx == nullptr ? 0 : ctx->service<io_service>().running();
}

caf::error to_error(const boost::system::error_code& ec,
                    const std::string& what) {
  auto ctx = what.empty() ? ec.message() : what + ": " + ec.message();
  if (ec == asio::error::operation_aborted)
    return make_error(errc::cancelled, std::move(ctx));
  if (ec == asio::error::timed_out)
    return make_error(errc::timeout, std::move(ctx));
  return make_error(errc::io_error, std::move(ctx));
}

} // namespace coactor::io
