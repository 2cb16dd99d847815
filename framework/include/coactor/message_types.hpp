// coactor::message_types: the one list of message types a node registers with
// CAF, so that they can cross the wire to other nodes.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>

namespace coactor {

/// The user's message types, registered with every node that gets them
/// through `node_options::types`. A type sent to another node must be
/// registered on both nodes under the same name; coactor's own message types
/// are always registered. Plain data: copy it into every node's options.
///
/// Sending a message with a type the peer lacks, or expecting a reply type
/// that one side lacks, makes `remote::ask` fail at once with
/// `errc::type_not_registered` naming the type and the side that lacks it
/// (CAF 0.17.6 itself drops such messages silently).
class message_types {
 public:
  /// Adds `T` (which needs an `inspect` overload) under `name`, e.g.
  /// `types.add<order>("shop::order")`. CAF also registers
  /// `std::vector<T>` (as "std::vector<name>") along with it.
  template <class T>
  message_types& add(std::string name) {
    names_.push_back(name);
    adders_.emplace_back(
        [name = std::move(name)](caf::actor_system_config& cfg) {
          cfg.add_message_type<T>(name);
        });
    return *this;
  }

  /// Adds every type of a CAF type-id block (`CAF_BEGIN_TYPE_ID_BLOCK`).
  /// Their names are known only after `apply`.
  template <class IdBlock>
  message_types& add_block() {
    adders_.emplace_back([](caf::actor_system_config& cfg) {
      cfg.add_message_types<IdBlock>();
    });
    return *this;
  }

  /// Registers every type with `cfg`. Called by `node::create`.
  void apply(caf::actor_system_config& cfg) const {
    for (auto& f : adders_)
      f(cfg);
  }

  /// Returns the names given to `add`, in order.
  [[nodiscard]] const std::vector<std::string>& names() const noexcept {
    return names_;
  }

  /// Returns whether nothing was added.
  [[nodiscard]] bool empty() const noexcept { return adders_.empty(); }

 private:
  std::vector<std::string> names_;
  std::vector<std::function<void(caf::actor_system_config&)>> adders_;
};

} // namespace coactor
