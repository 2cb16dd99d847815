// coactor::node: start, own, stop and restart one CAF actor system.
#include "coactor/node.hpp"

#include <cstdlib>

#include <caf/actor_registry.hpp>
#include <caf/exit_reason.hpp>
#include <caf/logger.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "balanced_scheduler.hpp"
#include "coactor/detail/caf_internals.hpp"
#include "coactor/error.hpp"
#include "metrics/endpoint.hpp"
#include "node_context.hpp"
#include "remoting.hpp"

namespace coactor {

namespace detail {

namespace {

// `balanced` is not CAF's: its scheduler module is loaded in `start`, and CAF
// then ignores `scheduler.policy` (set to the closest CAF policy, for code
// that reads it).
caf::atom_value policy_atom(scheduler_policy x) {
  switch (x) {
    case scheduler_policy::sharing: return caf::atom("sharing");
    case scheduler_policy::testing: return caf::atom("testing");
    default: return caf::atom("stealing");
  }
}

} // namespace

node_context::node_context(node_options options, log::level lvl)
    : opts(std::move(options)), level(lvl) {
  sink_ = opts.log_sink
              ? opts.log_sink
              : std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
}

node_context::~node_context() {
  join_stopper();
}

caf::error node_context::start() {
  join_stopper(); // before the lock: the stopper itself takes it
  std::lock_guard<std::mutex> lifecycle{lifecycle_mtx_};
  if (sys_)
    return caf::none;
  cfg_ = std::make_unique<node_config>(this);
  cfg_->set("scheduler.max-threads", opts.threads);
  cfg_->set("scheduler.policy", policy_atom(opts.policy));
  if (opts.policy == scheduler_policy::balanced)
    cfg_->module_factories.emplace_back(make_balanced_scheduler);
  cfg_->add_error_category(error_category, [](uint8_t code, caf::atom_value,
                                              const caf::message& ctx) {
    return describe(caf::error{code, error_category, ctx});
  });
  configure_node(*cfg_, opts);
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  release_thread();
  if (opts.networked()) {
    if (auto err = start_remoting(*this)) {
      teardown_services();
      release_thread();
      sys_.reset();
      cfg_.reset();
      clear_services();
      return err;
    }
  }
  {
    std::lock_guard<std::mutex> guard{state_mtx_};
    running_ = true;
    stop_requested_ = false;
    drained_ = false;
    drain_report_ = {};
  }
  if (opts.handle_signals)
    subscribe_signals(shared_from_this());
  logger("node")->debug("started with {} threads, scheduler '{}'", opts.threads,
                        to_string(opts.policy));
  return caf::none;
}

stop_report node_context::stop(std::chrono::milliseconds deadline) {
  join_stopper(); // a requested stop may still be draining
  std::lock_guard<std::mutex> lifecycle{lifecycle_mtx_};
  if (!sys_)
    return {};
  auto report = drained_ ? std::move(drain_report_) : drain(deadline);
  teardown();
  return report;
}

// Precondition: lifecycle_mtx_ held and sys_ alive.
stop_report node_context::drain(std::chrono::milliseconds deadline) {
  using clock = std::chrono::steady_clock;
  stop_report report;
  auto until = clock::now() + deadline;
  auto testing = opts.policy == scheduler_policy::testing;
  auto drive = [&] {
    if (testing)
      detail::run_testing_scheduler(*sys_);
  };
  // Ask every owned actor to end; exit handlers may clean up.
  std::vector<caf::strong_actor_ptr> owned;
  {
    std::lock_guard<std::mutex> guard{tracker_->mtx};
    for (auto& [id, addr] : tracker_->alive)
      if (auto ptr = caf::actor_cast<caf::strong_actor_ptr>(addr))
        owned.push_back(std::move(ptr));
  }
  for (auto& ptr : owned)
    caf::anon_send_exit(ptr, caf::exit_reason::user_shutdown);
  owned.clear();
  drive();
  auto all_ended = [this] {
    return tracker_->alive.empty();
  };
  {
    std::unique_lock<std::mutex> guard{tracker_->mtx};
    if (!testing)
      tracker_->cv.wait_until(guard, until, all_ended);
    for (auto& [id, addr] : tracker_->alive) {
      if (auto ptr = caf::actor_cast<caf::strong_actor_ptr>(addr)) {
        auto* actor = dynamic_cast<caf::monitorable_actor*>(ptr->get());
        report.unended.push_back({actor ? actor->name() : "actor", id});
        owned.push_back(std::move(ptr));
      }
    }
  }
  // Kill what refused to end. `kill` bypasses exit handlers; give the actors
  // one short grace period to process it.
  for (auto& ptr : owned)
    caf::anon_send_exit(ptr, caf::exit_reason::kill);
  owned.clear();
  drive();
  if (!report.unended.empty() && !testing) {
    std::unique_lock<std::mutex> guard{tracker_->mtx};
    tracker_->cv.wait_for(guard, std::chrono::milliseconds{200}, all_ended);
  }
  // Actors spawned outside the node: wait for them until the deadline, but
  // never hang on one that has a behaviour and nobody to end it.
  auto& reg = sys_->registry();
  if (!testing)
    while (reg.running() > 0 && clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
  report.untracked_running = reg.running();
  if (report.untracked_running > 0)
    sys_->await_actors_before_shutdown(false);
  if (!report.clean())
    logger("node")->warn("stop: {} owned actor(s) killed after the deadline, "
                         "{} unowned actor(s) abandoned",
                         report.unended.size(), report.untracked_running);
  {
    std::lock_guard<std::mutex> guard{state_mtx_};
    running_ = false;
    drained_ = true;
  }
  state_cv_.notify_all();
  return report;
}

// Precondition: lifecycle_mtx_ held, sys_ alive and drained.
void node_context::teardown() {
  if (opts.handle_signals)
    unsubscribe_signals(this);
  teardown_services();
  release_thread();
  sys_.reset();
  cfg_.reset();
  clear_services();
  std::lock_guard<std::mutex> guard{tracker_->mtx};
  tracker_->alive.clear();
}

void node_context::teardown_services() {
  std::lock_guard<std::recursive_mutex> guard{services_mtx_};
  for (auto i = services_.rbegin(); i != services_.rend(); ++i)
    i->second->stop();
}

void node_context::clear_services() {
  std::lock_guard<std::recursive_mutex> guard{services_mtx_};
  services_.clear();
}

void node_context::request_stop() {
  std::lock_guard<std::mutex> guard{state_mtx_};
  if (!running_ || stop_requested_)
    return;
  stop_requested_ = true;
  // A thread of its own: the caller may be an actor of this very node. It
  // only drains; `stop` or the node's destructor destroys the system.
  stopper_ = std::thread{[self = shared_from_this()] {
    std::lock_guard<std::mutex> lifecycle{self->lifecycle_mtx_};
    if (self->sys_ && !self->drained_)
      self->drain_report_ = self->drain(self->opts.stop_timeout);
  }};
}

bool node_context::wait_for_stop(std::chrono::milliseconds* timeout) {
  std::unique_lock<std::mutex> guard{state_mtx_};
  auto stopped = [this] {
    return !running_;
  };
  if (timeout == nullptr) {
    state_cv_.wait(guard, stopped);
    return true;
  }
  return state_cv_.wait_for(guard, *timeout, stopped);
}

void release_thread() noexcept {
  caf::logger::set_current_actor_system(nullptr);
}

void node_context::join_stopper() {
  std::thread stopper;
  {
    std::lock_guard<std::mutex> guard{state_mtx_};
    stopper.swap(stopper_);
  }
  if (!stopper.joinable())
    return;
  if (stopper.get_id() == std::this_thread::get_id())
    stopper.detach(); // the last reference died on the stopper itself
  else
    stopper.join();
}

bool node_context::running() const noexcept {
  std::lock_guard<std::mutex> guard{state_mtx_};
  return running_;
}

caf::actor_system& node_context::system() {
  return *sys_;
}

void node_context::own(const caf::strong_actor_ptr& hdl) {
  if (!hdl)
    return;
  auto id = hdl->id();
  {
    std::lock_guard<std::mutex> guard{tracker_->mtx};
    tracker_->alive.emplace(id, caf::actor_cast<caf::actor_addr>(hdl));
  }
  std::weak_ptr<tracker> weak = tracker_;
  hdl->get()->attach_functor([weak, id] {
    if (auto t = weak.lock()) {
      {
        std::lock_guard<std::mutex> guard{t->mtx};
        t->alive.erase(id);
      }
      t->cv.notify_all();
    }
  });
}

std::size_t node_context::owned_alive() const {
  std::lock_guard<std::mutex> guard{tracker_->mtx};
  return tracker_->alive.size();
}

std::shared_ptr<spdlog::logger>
node_context::logger(std::string_view component) {
  std::string name = opts.name;
  name += '.';
  name += component;
  std::lock_guard<std::mutex> guard{loggers_mtx_};
  for (auto& lg : loggers_)
    if (lg->name() == name)
      return lg;
  auto lg = std::make_shared<spdlog::logger>(std::move(name), sink_);
  configure_logger(*lg, level);
  loggers_.push_back(lg);
  return lg;
}

node_context* node_context_of(caf::actor_system& sys) noexcept {
  auto* cfg = dynamic_cast<const node_config*>(&sys.config());
  return cfg != nullptr ? cfg->ctx : nullptr;
}

} // namespace detail

// -- node ---------------------------------------------------------------------

caf::expected<node> node::create(node_options opts) {
  if (auto err = opts.validate())
    return err;
  auto lvl = log::level::info;
  if (opts.log_level) {
    lvl = *opts.log_level;
  } else if (const char* env = std::getenv("COACTOR_LOG_LEVEL");
             env != nullptr && *env != '\0') {
    auto parsed = log::parse_level(env);
    if (!parsed)
      return make_error(errc::invalid_config,
                        "environment variable COACTOR_LOG_LEVEL: "
                            + context_of(parsed.error()));
    lvl = *parsed;
  }
  opts.policy = opts.effective_policy(); // what `options()` reports
  auto ctx = std::make_shared<detail::node_context>(std::move(opts), lvl);
  if (auto err = ctx->start())
    return err;
  node result{std::move(ctx)};
  if (auto err = metrics::detail::start_node_metrics(result))
    return err; // `result` stops the node
  return result;
}

node::node(std::shared_ptr<detail::node_context> ctx) : ctx_(std::move(ctx)) {}

node::node(node&&) noexcept = default;

node& node::operator=(node&& other) noexcept {
  if (this != &other) {
    if (ctx_)
      ctx_->stop(ctx_->opts.stop_timeout);
    ctx_ = std::move(other.ctx_);
  }
  return *this;
}

node::~node() {
  if (ctx_)
    ctx_->stop(ctx_->opts.stop_timeout);
}

const node_options& node::options() const noexcept {
  return ctx_->opts;
}

const std::string& node::name() const noexcept {
  return ctx_->opts.name;
}

bool node::running() const noexcept {
  return ctx_ && ctx_->running();
}

caf::actor_system& node::system() {
  return ctx_->system();
}

caf::scheduler::test_coordinator& node::test_coordinator() {
  return detail::test_coordinator_of(ctx_->system());
}

void node::own(const caf::strong_actor_ptr& hdl) {
  ctx_->own(hdl);
  // `spawn` pinned the system to this thread (see detail::release_thread);
  // unpin it so that any thread may stop the node.
  detail::release_thread();
}

std::size_t node::owned_alive() const {
  return ctx_->owned_alive();
}

stop_report node::stop(std::chrono::milliseconds deadline) {
  return ctx_->stop(deadline);
}

void node::request_stop() {
  ctx_->request_stop();
}

void node::wait_for_stop() {
  ctx_->wait_for_stop(nullptr);
}

bool node::wait_for_stop(std::chrono::milliseconds timeout) {
  return ctx_->wait_for_stop(&timeout);
}

caf::error node::start() {
  if (running())
    return caf::none;
  if (auto err = ctx_->start())
    return err;
  if (!running()) // requested to stop but not yet stopped: as before
    return caf::none;
  if (auto err = metrics::detail::start_node_metrics(*this)) {
    stop();
    return err;
  }
  return caf::none;
}

} // namespace coactor
