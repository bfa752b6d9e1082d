// Where the log's lines go, for a host that is not a terminal program: the
// Python module (apps/python) hands each line to Python's `logging`. For the
// framework only, as config_impl.hpp is: plugins log through assim/log.hpp and
// never choose where their lines go.
#pragma once

#include <assim/log.hpp>

#include <functional>
#include <string>

namespace assim::log {

// Receives each message with its level and the prefix set_prefix gave, in
// place of standard error; called under the log's lock, from whichever thread
// logs (a worker's too). An empty sink writes to standard error again.
using Sink = std::function<void(Level level, const std::string& message)>;
ASSIM_API void set_sink(Sink sink);
// Whether a sink takes the lines: Progress then reports in lines through it
// rather than drawing a bar on the terminal.
ASSIM_API bool has_sink();

}  // namespace assim::log
