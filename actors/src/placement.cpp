// The stage factory (`coactor node` publishes it) and `place`, which asks a
// remote factory for a stage and follows it until its pipeline ends.
#include "coactor/actors/placement.hpp"

#include <memory>
#include <utility>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/actors/remote.hpp"
#include "coactor/error.hpp"

namespace coactor::actors {

namespace {

// Sends the end of a placed stage's pipeline to whoever placed it.
completion_handler report(const placement& what) {
  return [to = what.report_to,
          name = what.name](caf::expected<pipeline_summary> r) {
    if (!to)
      return;
    if (r)
      caf::anon_send(to, placed_atom::value, name, r->consumed, caf::error{});
    else
      caf::anon_send(to, placed_atom::value, name, uint64_t{0}, r.error());
  };
}

template <class T>
caf::expected<caf::actor> start_placed(coactor::node& n,
                                       const placement& what) {
  auto bad = [&](std::string why) {
    return make_error(errc::invalid_argument,
                      "place '" + what.name + "' (" + what.kind + "): " + why);
  };
  inlet_options io;
  io.upstreams = what.upstreams;
  if (what.capacity > 0)
    io.capacity = what.capacity;
  auto in = inlet<T>(what.name, io);
  caf::expected<running_pipeline> run{caf::sec::none};
  if (what.kind == "counter") {
    run = pipeline(n).from(in).to(counter()).start(report(what));
  } else if (what.kind == "to_file") {
    if (what.path.empty())
      return bad("no path");
    run = pipeline(n).from(in).to(to_file(what.path)).start(report(what));
  } else if (what.kind == "buffer") {
    if (!what.downstream)
      return bad("no downstream to forward to");
    buffer_options bo;
    if (what.capacity > 0)
      bo.capacity = what.capacity;
    run = pipeline(n)
              .from(in)
              .via(buffer(bo))
              .to(outlet<T>(what.downstream))
              .start(report(what));
  } else if (what.kind == "iota") {
    if constexpr (std::is_same_v<T, int64_t>) {
      if (!what.downstream)
        return bad("no downstream to send to");
      auto source = iota<int64_t>(0, static_cast<int64_t>(what.count));
      run = pipeline(n)
                .from(std::move(source).named(what.name))
                .to(outlet<T>(what.downstream))
                .start(report(what));
      if (!run)
        return run.error();
      return caf::actor{}; // a producer has no input
    } else {
      return bad("item type must be int64");
    }
  } else {
    return bad("unknown kind (expected counter, to_file, buffer or iota)");
  }
  if (!run)
    return run.error();
  return run->stage(what.name);
}

// Follows one `place` request on the placing node: asks the factory, then
// waits for the report, or for the loss of the stage's node.
struct placer_state {
  static inline const char* name = "coactor.placer";
  std::shared_ptr<std::promise<caf::expected<caf::actor>>> input;
  std::shared_ptr<std::promise<caf::expected<uint64_t>>> done;
  std::string where; // "stage 'x' on node 'b' at host:port"
  bool input_set = false;
  bool done_set = false;

  void set_input(caf::expected<caf::actor> x) {
    input_set = true;
    input->set_value(std::move(x));
  }

  void set_done(caf::expected<uint64_t> x) {
    done_set = true;
    done->set_value(std::move(x));
  }

  placer_state() = default;
  placer_state(const placer_state&) = delete;
  placer_state& operator=(const placer_state&) = delete;

  // Killed before the end (its node stopped): nobody waits forever.
  ~placer_state() {
    auto err = make_error(errc::node_stopped,
                          where + ": the placing node stopped first");
    if (input && !input_set)
      set_input(err);
    if (done && !done_set)
      set_done(err);
  }
};

caf::behavior
placer(caf::stateful_actor<placer_state>* self, caf::actor factory,
       placement what, caf::timespan timeout,
       std::shared_ptr<std::promise<caf::expected<caf::actor>>> input,
       std::shared_ptr<std::promise<caf::expected<uint64_t>>> done) {
  auto& st = self->state;
  st.input = std::move(input);
  st.done = std::move(done);
  st.where = "stage '" + what.name + "' on "
             + remote::describe_node(self->system(), factory.node());
  auto finish = [self](caf::expected<uint64_t> r) {
    self->state.set_done(std::move(r));
    self->quit();
  };
  // The stage's input (or, for a producer, the factory) stands for its node.
  self->set_down_handler([self, finish](caf::down_msg& dm) {
    if (dm.reason != caf::exit_reason::remote_link_unreachable)
      return; // the stage ended; its report follows
    finish(make_error(errc::connection_failed,
                      self->state.where
                          + ": the node became unreachable before the stage "
                            "ended"));
  });
  what.report_to = self;
  remote::ask<caf::actor>(
      self, factory, timeout,
      [self, factory, finish](caf::expected<caf::actor> r) {
        if (!r) {
          self->state.set_input(r.error());
          finish(r.error());
          return;
        }
        self->monitor(*r ? *r : factory);
        self->state.set_input(std::move(r));
      },
      place_atom::value, std::move(what));
  return {
      [finish](placed_atom, const std::string&, uint64_t items,
               caf::error& err) {
        if (err)
          finish(std::move(err));
        else
          finish(items);
      },
  };
}

} // namespace

void register_stage_types(message_types& types) {
  types.add<placement>("coactor::actors::placement");
  register_item_type<int64_t>(types, "int64");
  register_item_type<double>(types, "double");
  register_item_type<std::string>(types, "string");
}

caf::behavior stage_factory(caf::event_based_actor*, coactor::node* n) {
  return {
      [n](place_atom, const placement& what) -> caf::result<caf::actor> {
        caf::expected<caf::actor> r{caf::sec::none};
        if (what.item_type == "int64")
          r = start_placed<int64_t>(*n, what);
        else if (what.item_type == "double")
          r = start_placed<double>(*n, what);
        else if (what.item_type == "string")
          r = start_placed<std::string>(*n, what);
        else
          return make_error(errc::invalid_argument,
                            "place '" + what.name + "': unknown item type '"
                                + what.item_type
                                + "' (expected int64, double or string)");
        if (!r)
          return r.error();
        return *r;
      },
  };
}

caf::expected<placed_stage> place(node& n, const remote::peer& p,
                                  placement what,
                                  std::chrono::milliseconds timeout) {
  auto factory = remote::lookup(n, p, stage_factory_name, timeout);
  if (!factory)
    return factory.error();
  auto input = std::make_shared<std::promise<caf::expected<caf::actor>>>();
  auto done = std::make_shared<std::promise<caf::expected<uint64_t>>>();
  auto input_f = input->get_future();
  placed_stage result;
  result.done = done->get_future();
  n.spawn(placer, *factory, std::move(what), caf::timespan{timeout}, input,
          done);
  // The placer always answers: with the reply, an error, or at `timeout`.
  auto r = input_f.get();
  if (!r)
    return r.error();
  result.input = std::move(*r);
  return result;
}

} // namespace coactor::actors
