// The out-of-line part of the CAF fence (see coactor/detail/caf_internals.hpp
// for the facts each function relies on).
#include "coactor/detail/caf_internals.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/detail/set_thread_name.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace coactor::detail {

caf::scheduler::test_coordinator& test_coordinator_of(caf::actor_system& sys) {
  return static_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
}

std::size_t run_testing_scheduler(caf::actor_system& sys) {
  return test_coordinator_of(sys).run();
}

void name_this_thread(const char* name) noexcept {
  caf::detail::set_thread_name(name);
}

caf::actor basp_broker_of(caf::actor_system& sys) {
  return sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
}

void readd_response_handler(caf::scheduled_actor* self, caf::message_id rid,
                            caf::ref_counted* impl) {
  self->add_multiplexed_response_handler(
      rid, caf::behavior{caf::behavior::impl_ptr{
               static_cast<caf::detail::behavior_impl*>(impl)}});
}

caf::ref_counted* handler_impl(const caf::behavior& bhvr) noexcept {
  return bhvr.as_behavior_impl().get();
}

} // namespace coactor::detail
