// The operator against the SDK's contract suite, as any plugin's tests run it.
#include "cubic.hpp"

#include <assim/testing/config.hpp>
#include <assim/testing/contracts.hpp>

#include <iostream>

int main() {
  const example::Cubic cubic(assim::config_from_yaml("{scale: 0.5}", example::Cubic::parameters()));
  const assim::testing::Failures failures = assim::testing::check_observation_operator(cubic, {40});
  std::cout << (failures.empty() ? "example.cubic keeps the ObservationOperator contract\n" : failures.text());
  return failures.empty() ? 0 : 1;
}
