// Every rank runs the same experiment: the same resolved settings and run
// options, the same bytes of every file a stage reads, the same plugin, host
// and SDK builds. A rank that differs from rank 0 (other --set values,
// another copy of a file on a cluster) stops them all, naming what differs,
// before anything runs.
#pragma once

#include <string>

namespace assim {

class ExperimentGraph;
class PluginCatalog;
class Ranks;
class RecordStore;

// `settings`: the experiment file, --set values and run options, as text.
void agree_with_leader(const Ranks& world, const ExperimentGraph& graph, const RecordStore& records,
                       const PluginCatalog& catalog, const std::string& settings);

}  // namespace assim
