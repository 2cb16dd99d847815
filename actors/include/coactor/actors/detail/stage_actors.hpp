// Internal: the three actor shapes every pipeline piece is made of — a source
// (no upstream), a flow stage (inbound → processor → outbound) and a sink.
#pragma once

#include "coactor/actors/detail/flow_actor.hpp"
#include "coactor/actors/detail/sink_actor.hpp"
#include "coactor/actors/detail/source_actor.hpp"
#include "coactor/actors/detail/stage_common.hpp"
