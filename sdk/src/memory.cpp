#include <assim/memory.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace assim {

double available_memory_bytes() {
  double physical = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    physical = std::min(physical, static_cast<double>(limit.rlim_cur));
  return physical;
}

void check_memory(const Config& config, const std::string& key, double bytes, const std::string& what) {
  const double available = available_memory_bytes();
  if (std::isfinite(bytes) && bytes <= available) return;
  std::ostringstream why;
  why.precision(3);
  why << what << " needs about " << bytes / 1e9 << " GB, more than this machine's " << available / 1e9
      << " GB of memory";
  config.fail(key, why.str());
}

}  // namespace assim
