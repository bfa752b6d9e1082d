#include "agreement.hpp"

#include "run/records/record_store.hpp"
#include "run/records/stage_hash.hpp"

#include "experiment/graph.hpp"

#include <assim/digest.hpp>
#include <assim/error.hpp>
#include <assim/framework/plugins.hpp>
#include <assim/framework/ranks.hpp>

#include <utility>
#include <vector>

namespace assim {

void agree_with_leader(const Ranks& world, const ExperimentGraph& graph, const RecordStore& records,
                       const PluginCatalog& catalog, const std::string& settings) {
  if (world.size() == 1) return;
  std::string files;
  for (const auto& name : graph.order())
    for (const auto& [key, read] : records.files_read(name, graph.config(name)))
      files += key + " " + read.digest + "\n";
  std::string plugins;
  for (const auto& plugin : catalog.plugins())
    plugins += plugin->name + " " + plugin->version + " " + records.plugin_digest(*plugin) + "\n";
  const std::vector<std::pair<std::string, std::string>> parts = {
      {"settings (the experiment file, --set values and run options)", settings},
      {"files read", files},
      {"plugin builds", plugins},
      {"host and SDK builds", stage_hash::code_now()}};
  Packer mine;
  for (const auto& [what, text] : parts) mine.text(hex_digest(fnv1a(text)));
  const std::vector<std::string> all = world.all_gather(mine.bytes());
  Unpacker leader(all.front());
  std::vector<std::string> differ;
  for (const auto& [what, text] : parts)
    if (leader.text() != hex_digest(fnv1a(text))) differ.push_back(what);
  world.together([&] {
    if (!differ.empty())
      throw Error("its experiment differs from rank 0's: the " + list_text(differ, " and ") +
                  " differ; start every rank with the same experiment file, --set values, files and build");
  });
}

}  // namespace assim
