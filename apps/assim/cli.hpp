// The `assim` command line: run, validate, plugins.
#pragma once

namespace assim {

// Returns the process exit status: 0 on success, 1 on a failed experiment,
// 2 on a usage error.
int command_line(int argc, char** argv);

}  // namespace assim
