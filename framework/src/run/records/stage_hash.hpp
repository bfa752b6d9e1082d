// What a stage's hash is made of, and the same parts read back from a
// stage's record: a result is reused only when the code and the bytes that
// made it are today's.
//
// The code is identified by the digests of the built files that run it (the
// host, whose stage code generate, observe, assimilate's scoring, evaluate and
// filter are, libassim_sdk with the noise laws, the diffusion schedule and the
// score-sampling loop, and each plugin), not by a digest of the sources: a
// source digest misses what changes results without changing a source (another
// compiler or flags, another LibTorch), and it would also change with a
// comment. A rebuild of the same sources with the same tools gives the same
// bytes (nothing stamps dates into them), so it reuses; a comment-only change
// usually does too, except where it moves a __LINE__ a message carries, which
// recomputes (`--adopt` keeps such results).
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace assim::stage_hash {

// A built file that computes stages: its path and file_digest.
struct Build {
  std::filesystem::path file;
  std::string digest;
};
// This process's host (the binary the stage code is linked into: the
// executable `assim`, or the Python module `assim`, whose results are then
// its own) and libassim_sdk, digested once.
const Build& host();
const Build& sdk();

struct Parts {
  std::string versions;  // "assim 0.1.0 abi 8"
  std::string code;      // "host <digest> sdk <digest>"
  YAML::Node settings;
  std::vector<std::tuple<std::string, std::string, YAML::Node>> components;  // name, plugin text, settings
  std::vector<std::pair<std::string, std::string>> inputs;  // parameter path, the input's identity
  std::vector<std::pair<std::string, std::string>> files;   // parameter path, digest
};

std::string hash(const std::string& stage, const Parts& parts);

// Today's versions and code.
std::string versions_now();
std::string code_now();

// What a reader knows of a result it reads: its hash and a digest of the
// bytes it wrote (its record's list of outputs), so that a producer
// recomputed with the same settings but other bytes (a fit on another
// thread count) recomputes its readers.
std::string identity(const std::string& hash, const YAML::Node& outputs);

// "score_prior 0.1.0" as a record keeps a component's plugin, "host" for
// the host's own types.
std::string kept_plugin(const YAML::Node& kept);

// What a stage uses, by which its parts are read from a record.
struct Uses {
  std::vector<std::string> components;         // every component, directly or through another
  std::map<std::string, std::string> inputs;   // parameter path -> stage read
  std::vector<std::string> files;              // parameter paths of the files read
};

// The parts a record says made it; "" in `missing` when it has all of them,
// else the first it lacks.
Parts parts_of_record(const YAML::Node& record, const Uses& uses, std::string& missing);

// "" when the record's contents reproduce its own hash, else why not: a
// hand-edited hash, or a record another version of assim wrote.
std::string unfaithful(const std::string& stage, const YAML::Node& record, const Uses& uses);

}  // namespace assim::stage_hash
