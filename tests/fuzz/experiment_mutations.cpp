// A property of the experiment loader: for any text, `validate` either
// accepts it or refuses it with one line that names the file (and, where the
// text has one, the line) at fault. Never a crash, a stack trace, or an
// exception of another kind. The texts are seeded random mutations of the
// project's own experiment files: characters, lines, numbers, names, nulls
// and duplicate keys, the mistakes people and scripts make, and in files with
// sweeps, their placeholders, over: lists and values.
//
//   experiment_mutations SOURCE_DIR [MUTATIONS] [SEED]
// (ASSIM_MUTATIONS_VERBOSE=1 prints every refusal.)
#include <ATen/ATen.h>

#include <assim/error.hpp>
#include <assim/framework/experiment.hpp>
#include <assim/log.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// One or two `--set section.name.key=value` on the names and keys the text
// holds (or on a new key), with values drawn from the same list of mistakes
// as the mutations' plus the file's own values.
std::vector<std::string> random_sets(const std::string& text, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  static const std::vector<std::string> values = {"~", "", "1e309", "-1", "0", "7", "0.5", "5e-1", "2.0", "true",
                                                  "[]", "{}", "$truth", "1 day", "x", "[1, 2", "{a: 1}"};
  std::vector<std::string> names, keys = {"seed", "frames", "sigma", "window", "members", "type", "run", "new_key"};
  std::string section;
  for (const auto& line : lines_of(text)) {
    if (line == "components:" || line == "stages:") section = line.substr(0, line.size() - 1);
    const auto colon = line.find(':');
    if (section.empty() || line.rfind("  ", 0) != 0 || line.size() < 3 || line[2] == ' ' || colon == std::string::npos)
      continue;
    names.push_back(section + "." + line.substr(2, colon - 2));
    for (std::size_t at = line.find(", ", colon); at != std::string::npos; at = line.find(", ", at + 1))
      if (const auto end = line.find(':', at); end != std::string::npos && end - at < 24)
        keys.push_back(line.substr(at + 2, end - at - 2));
  }
  std::vector<std::string> out;
  for (std::size_t n = 1 + pick(2); n > 0; --n) {
    const std::string target = names.empty() || pick(10) == 0 ? "seed" : names[pick(names.size())] + "." + keys[pick(keys.size())];
    out.push_back(target + "=" + values[pick(values.size())]);
  }
  return out;
}

std::string mutate(const std::string& text, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  static const std::string punctuation = ":{}[],-~$\n '\"&*!|>%@`#?=.\\/0123456789";
  static const std::vector<std::string> values = {
      "~", "", "1e309", "-1", "0", "nan", ".inf", "2147483648", "1e19", "-0", "true", "'x'", "[]", "{}",
      "../../x", "/etc/passwd", "$nowhere", "$truth", "1 dya", "1e30 years", "0.5", "[1, 2", "{a: 1", "&a", "*a"};
  std::string out = text;
  switch (pick(9)) {
    case 0:  // delete a character
      if (!out.empty()) out.erase(pick(out.size()), 1);
      break;
    case 1:  // insert a character
      out.insert(pick(out.size() + 1), 1, punctuation[pick(punctuation.size())]);
      break;
    case 2: {  // duplicate a line (duplicate keys, stages, sections)
      auto lines = lines_of(out);
      if (lines.empty()) break;
      std::size_t i = pick(lines.size());
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), lines[i]);
      out = join(lines);
      break;
    }
    case 3: {  // delete a line
      auto lines = lines_of(out);
      if (lines.empty()) break;
      lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(pick(lines.size())));
      out = join(lines);
      break;
    }
    case 4: {  // swap two lines
      auto lines = lines_of(out);
      if (lines.size() < 2) break;
      std::swap(lines[pick(lines.size())], lines[pick(lines.size())]);
      out = join(lines);
      break;
    }
    case 5: {  // replace a value after a ': '
      std::vector<std::size_t> at;
      for (std::size_t p = out.find(": "); p != std::string::npos; p = out.find(": ", p + 1)) at.push_back(p + 2);
      if (at.empty()) break;
      std::size_t p = at[pick(at.size())];
      std::size_t end = out.find_first_of(",}\n", p);
      out.replace(p, (end == std::string::npos ? out.size() : end) - p, values[pick(values.size())]);
      break;
    }
    case 6: {  // replace a number
      std::vector<std::size_t> at;
      for (std::size_t p = 0; p < out.size(); ++p)
        if (std::isdigit(static_cast<unsigned char>(out[p])) && (p == 0 || !std::isalnum(static_cast<unsigned char>(out[p - 1]))))
          at.push_back(p);
      if (at.empty()) break;
      std::size_t p = at[pick(at.size())];
      std::size_t end = p;
      while (end < out.size() && (std::isalnum(static_cast<unsigned char>(out[end])) || out[end] == '.')) ++end;
      out.replace(p, end - p, values[pick(values.size())]);
      break;
    }
    case 7: {  // re-indent a line
      auto lines = lines_of(out);
      if (lines.empty()) break;
      std::size_t i = pick(lines.size());
      lines[i] = (pick(2) ? "  " : "") + lines[i].substr(std::min<std::size_t>(lines[i].size(), pick(2) * 2));
      out = join(lines);
      break;
    }
    default: {  // rename a key or a stage to something a path would make of it
      std::vector<std::size_t> at;
      for (std::size_t p = out.find("\n  "); p != std::string::npos; p = out.find("\n  ", p + 1)) at.push_back(p + 3);
      if (at.empty()) break;
      std::size_t p = at[pick(at.size())];
      std::size_t end = out.find(':', p);
      if (end == std::string::npos) break;
      static const std::vector<std::string> names = {"../../../x", "/abs", ".", "..", "a/b", ".hidden", "x y", "truth"};
      out.replace(p, end - p, names[pick(names.size())]);
      break;
    }
  }
  return out;
}

// Mistakes in sweeps (files with `sweeps:`): a placeholder renamed, lost or
// broken; an `over:` that repeats, misses or misnames a dimension; a
// dimension's values emptied, repeated, naming dimensions, or so many that
// the grid passes the limit (refused before anything is expanded).
std::string mutate_sweep(const std::string& text, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  std::vector<std::pair<std::size_t, std::size_t>> placeholders;  // where, length
  std::vector<std::string> dims;
  for (std::size_t p = text.find('<'); p != std::string::npos; p = text.find('<', p + 1)) {
    std::size_t end = p + 1;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    if (end == p + 1 || end >= text.size() || text[end] != '>') continue;
    placeholders.emplace_back(p, end + 1 - p);
    dims.push_back(text.substr(p + 1, end - p - 1));
  }
  if (dims.empty()) return text;
  const std::string dim = dims[pick(dims.size())], other = dims[pick(dims.size())];
  std::string out = text;
  switch (pick(3)) {
    case 0: {  // a placeholder
      const auto [p, n] = placeholders[pick(placeholders.size())];
      const std::vector<std::string> with = {"<" + other + ">", "<nowhere>", "<>", "", "<" + dim, "<<" + dim + ">>",
                                             "<" + dim + "><" + other + ">"};
      out.replace(p, n, with[pick(with.size())]);
      break;
    }
    case 1: {  // an over:
      std::vector<std::size_t> at;
      for (std::size_t p = out.find("over: "); p != std::string::npos; p = out.find("over: ", p + 1)) at.push_back(p + 6);
      if (at.empty()) break;
      const std::size_t p = at[pick(at.size())];
      const std::size_t end = out[p] == '[' ? out.find(']', p) + 1 : out.find_first_of(",}\n", p);
      if (end == 0 || end == std::string::npos) break;
      const std::vector<std::string> with = {"[" + dim + ", " + dim + "]", "[" + dim + ", " + other + "]", "[]", "~",
                                             "{" + dim + ": 1}", "nowhere", "[[" + dim + "]]", dim};
      out.replace(p, end - p, with[pick(with.size())]);
      break;
    }
    default: {  // a dimension's values
      const std::size_t p = out.find("\n  " + dim + ": ");
      if (p == std::string::npos) break;
      const std::size_t begin = p + 5 + dim.size(), end = out.find('\n', begin);
      const std::vector<std::string> with = {"[]", "{}", "~", "[1, 1]", "[<" + other + ">]", "{a: <" + other + ">}",
                                             "[0.5]", "many"};
      std::string value = with[pick(with.size())];
      if (value == "many") {  // 100 001 values: past the limit of 10^5 stages for any stage over it
        value = "[0";
        for (int i = 1; i <= 100000; ++i) value += "," + std::to_string(i);
        value += "]";
      }
      out.replace(begin, end - begin, value);
      break;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: experiment_mutations SOURCE_DIR [MUTATIONS] [SEED]\n";
    return 2;
  }
  const fs::path source = argv[1];
  const long mutations = argc > 2 ? std::stol(argv[2]) : 2000;
  const std::uint64_t seed = argc > 3 ? std::stoull(argv[3]) : 1;
  assim::log::set_level(assim::log::Level::Error);
  const bool verbose = std::getenv("ASSIM_MUTATIONS_VERBOSE") != nullptr;  // print every refusal

  std::vector<std::pair<fs::path, std::string>> originals;
  for (const auto& folder : {source / "experiments", source / "tests" / "e2e"})
    for (const auto& entry : fs::recursive_directory_iterator(folder))
      if (entry.path().extension() == ".yaml" && entry.path().parent_path().filename() != "bad") {
        std::ifstream in(entry.path());
        std::stringstream text;
        text << in.rdbuf();
        originals.emplace_back(entry.path(), text.str());
      }
  if (originals.empty()) {
    std::cerr << "FAIL: no experiment files under " << source << "\n";
    return 1;
  }

  const fs::path work = fs::temp_directory_path() / ("assim_mutations_" + std::to_string(::getpid()));
  fs::create_directories(work);
  std::mt19937_64 rng(seed);
  long accepted = 0, refused = 0, bad = 0;
  for (long i = 0; i < mutations; ++i) {
    const auto& [path, text] = originals[rng() % originals.size()];
    std::string mutated =
        text.find("\nsweeps:") != std::string::npos && rng() % 2 == 0 ? mutate_sweep(text, rng) : mutate(text, rng);
    if (rng() % 3 == 0) mutated = mutate(mutated, rng);
    const fs::path file = work / ("m" + std::to_string(i) + ".yaml");
    std::ofstream(file) << mutated;
    auto report = [&](const std::string& why) {
      ++bad;
      if (bad <= 10)
        std::cerr << "FAIL: mutation " << i << " of " << path.filename().string() << ": " << why << "\n--- text:\n"
                  << mutated << "---\n";
    };
    if (verbose) std::cout << "mutation " << i << " of " << path.filename().string() << "\n" << std::flush;
    const auto started = std::chrono::steady_clock::now();
    // A quarter of them run with --set values of their own on a stage's or a
    // component's key, and ask which stages a variant of them would write.
    std::vector<std::string> sets;
    if (rng() % 4 == 0) sets = random_sets(mutated, rng);
    try {
      assim::Session session(file, sets);
      session.validate();
      if (!sets.empty()) session.variant_stages("fuzz");
      ++accepted;
    } catch (const assim::Error& e) {
      const std::string message = e.what();
      ++refused;
      if (verbose) std::cout << "refused: " << message.substr(message.find(".yaml") + 5) << "\n";
      const bool names_set = !sets.empty() && message.find("--set") != std::string::npos;
      if (message.rfind(file.string(), 0) != 0 && message.find(file.string() + ":") == std::string::npos && !names_set)
        report("the message names neither the file nor the --set: " + message);
      else if (message.find('\n') != std::string::npos)
        report("the message is not one line: " + message);
      else if (message.find("frame #") != std::string::npos)
        report("the message holds a stack trace: " + message);
    } catch (const std::exception& e) {
      report(std::string("an exception that is not an assim::Error: ") + e.what());
    } catch (...) {
      report("a non-standard exception");
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // The slowest validations, to find a mutation that makes validate build something huge.
    if (seconds > 1.0)
      std::cout << "slow: mutation " << i << " of " << path.filename().string() << " took " << seconds << " s\n";
    if (seconds > 1.0 && verbose) std::cout << mutated << "\n---\n";
    fs::remove(file);
  }
  fs::remove_all(work);
  std::cout << mutations << " mutations of " << originals.size() << " experiment files (seed " << seed
            << "): " << accepted << " accepted, " << refused << " refused with a one-line message naming the file, "
            << bad << " bad\n";
  std::cout << (mutations - bad) << " passed, " << bad << " failed\n";
  return bad == 0 ? 0 : 1;
}
