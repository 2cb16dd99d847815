// Convenience header: everything of coactor's coroutine adapter.
#pragma once

#include "coactor/ask.hpp"
#include "coactor/from_callback.hpp"
#include "coactor/respond.hpp"
#include "coactor/sleep.hpp"
#include "coactor/start.hpp"
#include "coactor/task.hpp"
#include "coactor/when_all.hpp"
#include "coactor/when_any.hpp"
