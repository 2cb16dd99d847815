// coactor::supervision: the supervisor actor. It monitors its children (an
// exit hook kills the live ones when it ends); every decision (restart which,
// stop in what order, give up) is made here, in the supervisor's own context.
#include "coactor/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <exception>
#include <memory>
#include <set>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>

#include "coactor/error.hpp"
#include "coactor/log.hpp"
#include "coactor/node.hpp"

namespace coactor::supervision {

namespace {

// The message a stopping child's shutdown timer sends (with the stop's
// generation, so that a stale timer does nothing).
using shutdown_atom = caf::atom_constant<caf::atom("cosupstop")>;

// Whether a child that ended with `reason` ended well: no error, a normal
// exit or a shutdown (Erlang's normal, shutdown and {shutdown, _}).
bool ended_well(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal
         || reason == caf::exit_reason::user_shutdown;
}

bool restarts_after(restart policy, const caf::error& reason) {
  switch (policy) {
    case restart::permanent: return true;
    case restart::transient: return !ended_well(reason);
    case restart::temporary: return false;
  }
  return false;
}

// Runs `spec.start`; a throw or a null actor is `errc::start_failed` saying
// which child of `sup` and why.
caf::expected<caf::actor> try_start(const child_spec& spec,
                                    caf::actor_system& sys,
                                    const std::string& sup) {
  std::string why = "its start function returned no actor";
  try {
    if (auto hdl = spec.start(sys))
      return hdl;
  } catch (const std::exception& ex) {
    why = std::string{"it threw: "} + ex.what();
  } catch (...) {
    why = "it threw";
  }
  return make_error(errc::start_failed, "supervisor '" + sup + "': child '"
                                            + spec.name
                                            + "' failed to start: " + why);
}

class supervisor_actor final : public caf::event_based_actor {
 public:
  supervisor_actor(caf::actor_config& cfg, supervisor_options opts,
                   std::vector<child_spec> specs,
                   std::vector<caf::actor> started)
      : caf::event_based_actor(cfg), opts_(std::move(opts)) {
    children_.reserve(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      auto& c = children_.emplace_back();
      c.spec = std::move(specs[i]);
      c.hdl = std::move(started[i]);
    }
  }

  const char* name() const override { return opts_.name.c_str(); }

  caf::behavior make_behavior() override {
    set_exit_handler([this](caf::exit_msg& msg) { on_exit(msg); });
    set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
    for (auto& c : children_)
      watch(c.hdl);
    // However the supervisor ends (killed included), its children end too.
    attach_functor([live = live_] {
      for (auto& hdl : *live)
        caf::anon_send_exit(hdl, caf::exit_reason::kill);
    });
    return {
        [this](caf::get_atom, const std::string& name)
            -> caf::result<caf::actor> { return lookup(name); },
        [this](caf::get_atom) { return status(); },
        [this](shutdown_atom, uint64_t generation) {
          if (generation == stop_generation_ && !stop_queue_.empty())
            if (auto& c = children_[stop_queue_.back()]; c.hdl) {
              log::warn(this,
                        "supervisor '{}': child '{}' did not stop within "
                        "{} ms: killed",
                        opts_.name, c.spec.name, c.spec.shutdown.count());
              send_exit(c.hdl, caf::exit_reason::kill);
            }
        },
    };
  }

 private:
  struct slot {
    child_spec spec;
    caf::actor hdl;
    size_t restarts = 0;
    // Whether the supervisor asked it to stop (its exit is then expected).
    bool stopping = false;
    // Whether it ended for good (a temporary or transient child).
    bool ended = false;
    // Lookups waiting for it to run again.
    std::vector<caf::response_promise> waiting;
  };

  // What to do once every child in `stop_queue_` stopped.
  enum class after_stop { nothing, restart, quit };

  // -- queries ----------------------------------------------------------------

  caf::result<caf::actor> lookup(const std::string& name) {
    auto* c = find(name);
    if (c == nullptr || c->ended)
      return make_error(errc::name_not_found,
                        "supervisor '" + opts_.name + "' has no child '" + name
                            + (c != nullptr ? "' any more" : "'"));
    if (c->hdl && !c->stopping)
      return c->hdl;
    c->waiting.push_back(make_response_promise());
    return c->waiting.back();
  }

  std::vector<child_status> status() const {
    std::vector<child_status> result;
    for (auto& c : children_)
      result.push_back(child_status{c.spec.name, c.hdl, c.restarts});
    return result;
  }

  slot* find(const std::string& name) {
    auto i = std::find_if(children_.begin(), children_.end(),
                          [&](const slot& c) { return c.spec.name == name; });
    return i != children_.end() ? &*i : nullptr;
  }

  // -- exits ------------------------------------------------------------------

  // A monitor tells the supervisor that a child ended. (Not a link: CAF
  // unlinks an actor from the sender of an exit message before it acts on
  // it, so a child the supervisor stops would never report back by its link;
  // and a link's exit message could not be told from a parent's.)
  void watch(const caf::actor& hdl) {
    monitor(hdl);
    sync_live();
  }

  // Keeps `live_` (what the exit hook kills) equal to the running children.
  void sync_live() {
    live_->clear();
    for (auto& c : children_)
      if (c.hdl)
        live_->push_back(c.hdl);
  }

  slot* child_at(const caf::actor_addr& addr) {
    auto i = std::find_if(children_.begin(), children_.end(), [&](slot& c) {
      return c.hdl && c.hdl.address() == addr;
    });
    return i != children_.end() ? &*i : nullptr;
  }

  // From the parent or the node: stop every child, then exit.
  void on_exit(caf::exit_msg& msg) {
    begin_stop(0, after_stop::quit, std::move(msg.reason));
  }

  void on_down(caf::down_msg& msg) {
    auto* i = child_at(msg.source);
    if (i == nullptr)
      return; // an old incarnation, handled already
    auto idx = static_cast<size_t>(i - children_.data());
    auto& c = *i;
    c.hdl = nullptr;
    sync_live();
    if (c.stopping) {
      c.stopping = false;
      if (!stop_queue_.empty() && stop_queue_.back() == idx)
        stop_queue_.pop_back();
      stop_next();
      return;
    }
    if (stopping_all_ || in_stop_set(idx)) {
      // Ended on its own while a stop or restart of it was under way anyway.
      stop_queue_.erase(
          std::remove(stop_queue_.begin(), stop_queue_.end(), idx),
          stop_queue_.end());
      if (stop_queue_.empty() && then_ != after_stop::nothing)
        stop_next();
      return;
    }
    if (then_ != after_stop::nothing) {
      // Another child's restart is under way: handle this one after it.
      deferred_.emplace_back(idx, std::move(msg.reason));
      return;
    }
    child_ended(idx, msg.reason);
  }

  void child_ended(size_t idx, const caf::error& reason) {
    auto& c = children_[idx];
    if (!restarts_after(c.spec.policy, reason)) {
      log::info(this, "supervisor '{}': child '{}' ended ({}), not restarted",
                opts_.name, c.spec.name, describe(reason));
      c.ended = true;
      fail_waiting(c, errc::name_not_found, "it ended");
      return;
    }
    if (!allow_restart()) {
      auto why = make_error(
          errc::restart_limit,
          "supervisor '" + opts_.name + "': more than "
              + std::to_string(opts_.intensity) + " restarts in "
              + std::to_string(opts_.period.count()) + " ms; child '"
              + c.spec.name + "' last ended with " + describe(reason));
      log::error(this, "{}", describe(why));
      begin_stop(0, after_stop::quit, std::move(why));
      return;
    }
    log::warn(this, "supervisor '{}': child '{}' ended ({}): restarting ({})",
              opts_.name, c.spec.name, describe(reason),
              to_string(opts_.strategy));
    switch (opts_.strategy) {
      case strategy::one_for_one:
        restart_from_ = idx;
        restart_only_ = true;
        finish_stop_for_restart();
        return;
      case strategy::one_for_all:
        restart_only_ = false;
        restart_from_ = 0;
        begin_stop(0, after_stop::restart, {});
        return;
      case strategy::rest_for_one:
        restart_only_ = false;
        restart_from_ = idx;
        begin_stop(idx + 1, after_stop::restart, {});
        return;
    }
  }

  // Records a restart; returns false when it exceeds the intensity.
  bool allow_restart() {
    auto now = clock().now();
    while (!restart_times_.empty()
           && now - restart_times_.front() >= opts_.period)
      restart_times_.pop_front();
    if (restart_times_.size() >= opts_.intensity)
      return false;
    restart_times_.push_back(now);
    return true;
  }

  // -- stopping ---------------------------------------------------------------

  // Stops the running children from index `first` on, last first, one at a
  // time; then does `then`.
  void begin_stop(size_t first, after_stop then, caf::error reason) {
    if (then == after_stop::quit) {
      if (stopping_all_)
        return; // a second request while stopping changes nothing
      stopping_all_ = true;
      quit_reason_ = std::move(reason);
      deferred_.clear();
      first = 0;
    }
    then_ = then;
    stop_queue_.clear();
    for (size_t i = first; i < children_.size(); ++i)
      if (children_[i].hdl)
        stop_queue_.push_back(i); // back() is the last started: stopped first
    stop_next();
  }

  bool in_stop_set(size_t idx) const {
    return std::find(stop_queue_.begin(), stop_queue_.end(), idx)
           != stop_queue_.end();
  }

  void stop_next() {
    while (!stop_queue_.empty()) {
      auto& c = children_[stop_queue_.back()];
      if (!c.hdl) {
        stop_queue_.pop_back();
        continue;
      }
      if (!c.stopping) {
        c.stopping = true;
        send_exit(c.hdl, caf::exit_reason::user_shutdown);
        delayed_send(this, c.spec.shutdown, shutdown_atom::value,
                     ++stop_generation_);
      }
      return;
    }
    switch (std::exchange(then_, after_stop::nothing)) {
      case after_stop::nothing: return;
      case after_stop::restart: finish_stop_for_restart(); return;
      case after_stop::quit:
        for (auto& c : children_)
          fail_waiting(c, errc::target_down, "its supervisor stopped");
        quit(std::move(quit_reason_));
        return;
    }
  }

  // -- starting ---------------------------------------------------------------

  void finish_stop_for_restart() {
    auto last = restart_only_ ? restart_from_ + 1 : children_.size();
    for (auto i = restart_from_; i < last; ++i) {
      auto& c = children_[i];
      if (c.ended || (c.hdl && !restart_only_))
        continue;
      if (!start_child(c)) {
        // A failed start is one more failure of the child.
        child_ended(i,
                    make_error(errc::start_failed,
                               "child '" + c.spec.name + "' failed to start"));
        return;
      }
    }
    auto deferred = std::exchange(deferred_, {});
    for (auto& [idx, reason] : deferred)
      if (!children_[idx].hdl && !children_[idx].ended
          && then_ == after_stop::nothing)
        child_ended(idx, reason);
  }

  bool start_child(slot& c) {
    auto hdl = try_start(c.spec, system(), opts_.name);
    if (!hdl) {
      log::error(this, "{}", context_of(hdl.error()));
      return false;
    }
    ++c.restarts;
    c.hdl = std::move(*hdl);
    watch(c.hdl);
    for (auto& rp : std::exchange(c.waiting, {}))
      rp.deliver(c.hdl);
    return true;
  }

  void fail_waiting(slot& c, errc code, const char* why) {
    for (auto& rp : std::exchange(c.waiting, {}))
      rp.deliver(make_error(code, "child '" + c.spec.name + "' of supervisor '"
                                      + opts_.name + "': " + why));
  }

  supervisor_options opts_;
  std::vector<slot> children_;
  std::shared_ptr<std::vector<caf::actor>> live_
      = std::make_shared<std::vector<caf::actor>>();
  std::deque<caf::actor_clock::time_point> restart_times_;
  // Indices of the children still to stop; back() is the next.
  std::vector<size_t> stop_queue_;
  after_stop then_ = after_stop::nothing;
  uint64_t stop_generation_ = 0;
  bool stopping_all_ = false;
  caf::error quit_reason_;
  // The restart under way: from this index, only it (one_for_one) or it and
  // every later child.
  size_t restart_from_ = 0;
  bool restart_only_ = true;
  // Children that ended unexpectedly while another restart was under way.
  std::vector<std::pair<size_t, caf::error>> deferred_;
};

caf::error validate(const supervisor_options& opts,
                    const std::vector<child_spec>& children) {
  auto bad = [&](const std::string& what) {
    return make_error(errc::invalid_argument,
                      "supervisor '" + opts.name + "': " + what);
  };
  if (opts.period.count() <= 0)
    return bad("period must be positive");
  std::set<std::string> names;
  for (auto& c : children) {
    if (c.name.empty())
      return bad("a child has an empty name");
    if (!names.insert(c.name).second)
      return bad("two children are named '" + c.name + "'");
    if (!c.start)
      return bad("child '" + c.name + "' has no start function");
    if (c.shutdown.count() < 0)
      return bad("child '" + c.name + "' has a negative shutdown time");
  }
  return caf::none;
}

} // namespace

std::string_view to_string(strategy x) noexcept {
  switch (x) {
    case strategy::one_for_one: return "one_for_one";
    case strategy::one_for_all: return "one_for_all";
    case strategy::rest_for_one: return "rest_for_one";
  }
  return "unknown";
}

caf::expected<caf::actor> spawn_supervisor(caf::actor_system& sys,
                                           supervisor_options opts,
                                           std::vector<child_spec> children) {
  if (auto err = validate(opts, children))
    return err;
  std::vector<caf::actor> started;
  auto undo = [&] {
    for (auto i = started.rbegin(); i != started.rend(); ++i)
      caf::anon_send_exit(*i, caf::exit_reason::user_shutdown);
  };
  for (auto& c : children) {
    auto hdl = try_start(c, sys, opts.name);
    if (!hdl) {
      undo();
      return std::move(hdl.error());
    }
    started.push_back(std::move(*hdl));
  }
  return sys.spawn<supervisor_actor>(std::move(opts), std::move(children),
                                     std::move(started));
}

caf::expected<caf::actor> spawn_supervisor(node& n, supervisor_options opts,
                                           std::vector<child_spec> children) {
  if (!n.running())
    return make_error(errc::node_stopped, "supervisor '" + opts.name
                                              + "': the node is not running");
  auto sup = spawn_supervisor(n.system(), std::move(opts), std::move(children));
  if (sup)
    n.own(caf::actor_cast<caf::strong_actor_ptr>(*sup));
  return sup;
}

} // namespace coactor::supervision
