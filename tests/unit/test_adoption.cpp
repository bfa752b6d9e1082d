// What `run --adopt` accepts as the same settings: today's, up to
// parameters added since at their declared defaults.
#include "../../framework/src/run/records/adoption.hpp"

#include <doctest/doctest.h>

namespace {

std::vector<assim::Parameter> declared() {
  assim::Parameters noise;
  noise.real("sigma", 0.1, "", "std");
  noise.string("law", "gaussian", "", "law");
  assim::Parameters p;
  p.integer("epochs", 8, "", "passes");
  p.reals("masks", {}, "", "fractions");
  p.integer("pairs", 0, "", "pool");
  p.section("noise", "the noise", noise);
  return p.list();
}

std::string difference(const char* now, const char* then) {
  return assim::settings_difference(YAML::Load(now), YAML::Load(then), declared(), "stages.fit");
}

}  // namespace

TEST_CASE("adoption: the same settings, and parameters added since at their defaults, are the same") {
  CHECK(difference("{epochs: 40, noise: {sigma: 0.1}}", "{noise: {sigma: 0.1}, epochs: 40}") == "");
  CHECK(difference("{epochs: 40, masks: [], pairs: 0}", "{epochs: 40}") == "");
  CHECK(difference("{epochs: 40, noise: {sigma: 0.1, law: gaussian}}", "{epochs: 40, noise: {sigma: 0.1}}") == "");
}

TEST_CASE("adoption: a changed, removed or non-default added setting is named") {
  CHECK(difference("{epochs: 8}", "{epochs: 40}") == "stages.fit.epochs: 40 then, 8 now");
  CHECK(difference("{epochs: 40, masks: [1, 0.25]}", "{epochs: 40}") ==
        "stages.fit.masks: absent then, [1, 0.25] now");
  CHECK(difference("{epochs: 40}", "{epochs: 40, pairs: 0}") ==
        "stages.fit.pairs: 0 then, absent now (a parameter removed since)");
  CHECK(difference("{noise: {sigma: 0.1, law: laplace}}", "{noise: {sigma: 0.1}}") ==
        "stages.fit.noise.law: absent then, laplace now");
  CHECK(difference("{noise: {sigma: 0.2}}", "{noise: {sigma: 0.1}}") == "stages.fit.noise.sigma: 0.1 then, 0.2 now");
  // A key no parameter declares is never taken for a default.
  CHECK(difference("{epochs: 40, extra: 1}", "{epochs: 40}") == "stages.fit.extra: absent then, 1 now");
}
