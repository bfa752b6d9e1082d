// The model against the SDK's contract suite, as any plugin's tests run it.
#include "advection.hpp"

#include <assim/testing/config.hpp>
#include <assim/testing/contracts.hpp>

#include <iostream>

int main() {
  const example::Advection model(assim::config_from_yaml("{sites: 32}", example::Advection::parameters()));
  const assim::testing::Failures failures = assim::testing::check_model(model, 10);
  std::cout << (failures.empty() ? "model.example_advection keeps the Model contract\n" : failures.text());
  return failures.empty() ? 0 : 1;
}
