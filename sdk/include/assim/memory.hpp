// A stage or a component estimates what it will hold in memory before it
// allocates, and refuses with the number and the key when the machine cannot
// hold it, instead of being killed by the kernel or failing inside an
// allocator (and `assim validate` stays quick whatever the numbers say).
#pragma once

#include <assim/abi.hpp>
#include <assim/config.hpp>

#include <string>

namespace assim {

// Physical memory of this machine, or the address-space limit of this process
// when one is set and smaller, in bytes.
ASSIM_TOOLKIT double available_memory_bytes();

// Throws ConfigError at `key` when `bytes` (what `what` needs) exceed the
// available memory.
ASSIM_TOOLKIT void check_memory(const Config& config, const std::string& key, double bytes, const std::string& what);

}  // namespace assim
