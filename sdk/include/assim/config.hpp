// A read-only, typed view of one component's (or stage's) settings in an
// experiment file. The host has already checked every value against the
// component's Parameters and filled in the defaults, so a getter only fails
// on a programming error (asking for an undeclared key or the wrong type).
//
// Every value knows where it came from, so a plugin that finds a value
// unacceptable for a reason the declaration cannot express calls `fail(key,
// why)` and the user sees "experiment.yaml:12:9: components.qg.dt: why".
#pragma once

#include <assim/abi.hpp>
#include <assim/component.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace assim {

class Parameters;

class ASSIM_API Config {
 public:
  struct Impl;
  explicit Config(std::shared_ptr<Impl> impl);
  ~Config();
  Config(const Config&);
  Config& operator=(const Config&);

  // T is one of bool, int, std::int64_t, std::uint64_t, double, std::string,
  // std::vector<double>, std::vector<std::int64_t>, std::vector<std::string>.
  template <class T>
  T get(const std::string& key) const;

  bool has(const std::string& key) const;
  // A nested section (a parameter of type Section).
  Config section(const std::string& key) const;
  // The component a `$name` value refers to, already built.
  template <class T>
  std::shared_ptr<T> component(const std::string& key) const {
    return std::dynamic_pointer_cast<T>(component_of_kind(key, T::kind));
  }
  // The components a list of `$name` values refers to, in order.
  template <class T>
  std::vector<std::shared_ptr<T>> components(const std::string& key) const {
    std::vector<std::shared_ptr<T>> out;
    for (std::size_t i = 0; i < count(key); ++i)
      out.push_back(std::dynamic_pointer_cast<T>(component_at(key, i, T::kind)));
    return out;
  }
  // The number of elements of a list value.
  std::size_t count(const std::string& key) const;
  // The name a `$name` value refers to (without the `$`).
  std::string reference(const std::string& key) const;

  // "file:line:column" of the key's value (or of this section when key is empty).
  std::string where(const std::string& key = {}) const;
  // Dotted path of the key: "components.qg.dt".
  std::string path(const std::string& key = {}) const;
  // The String `key` as a file path: relative values are relative to the
  // experiment file's folder, as the host resolves input_file() keys; empty
  // when the value is empty.
  std::filesystem::path file(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  // For a type that declares `others` (Parameters::others): this Config with
  // `more` declared too, the keys beyond the type's own checked against them
  // as the host checks any declared key (types, ranges, unknown keys, naming
  // the file, line and key; `owner` says whose parameters they are), their
  // defaults filled into the settings, which the stage's hash and `validate
  // --print` read, and readable with get.
  Config with_parameters(const Parameters& more, const std::string& owner) const;

  // The keys present (given or defaulted), in file order.
  std::vector<std::string> keys() const;
  // Declared keys no getter has asked for so far.
  std::vector<std::string> unread() const;
  // The settings as YAML text (defaults filled, references kept as `$name`).
  std::string yaml() const;

  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<Component> component_of_kind(const std::string& key, Kind kind) const;
  std::shared_ptr<Component> component_at(const std::string& key, std::size_t index, Kind kind) const;
  std::shared_ptr<Impl> impl_;
};

}  // namespace assim
