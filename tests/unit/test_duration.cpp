#include <assim/error.hpp>
#include <assim/framework/duration.hpp>

#include <doctest/doctest.h>

using assim::steps_in;

TEST_CASE("durations convert to whole time steps") {
  CHECK(steps_in("5 years", 7200, "s") == 5 * 365 * 12);
  CHECK(steps_in("1 day", 900, "s") == 96);
  CHECK(steps_in("1800 s", 900, "s") == 2);
  CHECK(steps_in("100 steps", 0.05, "1") == 100);
  CHECK(steps_in("1 step", 7200, "s") == 1);
  CHECK(steps_in("20", 0.05, "1") == 400);
  CHECK(steps_in("0", 0.05, "1") == 0);
}

TEST_CASE("durations that do not fit are refused") {
  CHECK_THROWS_WITH_AS(steps_in("1 hour", 7200, "s"), doctest::Contains("not a whole number of time steps"),
                       assim::Error);
  CHECK_THROWS_WITH_AS(steps_in("1 day", 0.05, "1"), doctest::Contains("nondimensional"), assim::Error);
  CHECK_THROWS_WITH_AS(steps_in("3 fortnights", 60, "s"), doctest::Contains("unknown time unit 'fortnights'"),
                       assim::Error);
  CHECK_THROWS_WITH_AS(steps_in("-1 day", 60, "s"), doctest::Contains("negative"), assim::Error);
  CHECK_THROWS_WITH_AS(steps_in("soon", 60, "s"), doctest::Contains("not a duration"), assim::Error);
  CHECK_THROWS_WITH_AS(steps_in("1.5 steps", 60, "s"), doctest::Contains("whole number of steps"), assim::Error);
}
