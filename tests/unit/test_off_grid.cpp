// Observations between grid points: a file's observations of a known field
// at random places, read back at those places, are what H (the element-wise
// operator applied to the state interpolated there) gives on that field.
#include <assim/error.hpp>
#include <assim/observation_operator.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "products/observation_file.hpp"
#include "science/off_grid.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>

namespace {

// arctan(3 x), element-wise: the composition the issue names.
class Arctan : public assim::ObservationOperator {
 public:
  at::Tensor apply(const at::Tensor& x) const override { return at::atan(3 * x); }
};

// A (layer, y, x) plane of 2 x 8 x 12 points 0.5 km apart.
assim::StateSpec plane() {
  assim::StateSpec spec;
  spec.variable = "q";
  spec.units = "1";
  spec.dims = {{"layer", 2, "", 0}, {"y", 8, "km", 0.5}, {"x", 12, "km", 0.5}};
  spec.time_step = 1;
  spec.time_units = "1";
  return spec;
}

// `values` (layer, place) at `places` (place, (y, x) in km), written as an
// observation file of one window and one frame, through the observe stage's writer.
std::filesystem::path written(const assim::StateSpec& spec, const at::Tensor& places, const at::Tensor& values) {
  assim::products::ObservationSet set;
  set.state = spec;
  set.frame_steps = 1;
  set.places = places;
  set.observation_dims = {"layer", "location"};
  const std::int64_t n = places.size(0);
  set.observations = values.reshape({1, 1, 2, n});
  set.mask = at::ones({1, n}, at::kInt);
  set.design.sigma = 0.1;
  const auto path = std::filesystem::temp_directory_path() / "assim_test_off_grid.nc";
  assim::products::write_observation_file(path, set, "observation");
  return path;
}

}  // namespace

TEST_CASE("observations of a bilinear field at random places between grid points: read back, H reproduces them") {
  const assim::StateSpec spec = plane();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  const std::int64_t n = 50;
  // Places in model units, inside the cells' centres' hull: y in [0.25, 3.75), x in [0.25, 5.75) km.
  const at::Tensor places = at::stack({0.25 + 3.5 * at::rand({n}, generator, at::kDouble),
                                       0.25 + 5.5 * at::rand({n}, generator, at::kDouble)},
                                      1);
  // A bilinear field of each layer in grid units (i = c / 0.5 - 0.5), which bilinear interpolation reproduces.
  const auto field_at = [](const at::Tensor& i, const at::Tensor& j, double layer) {
    return 0.2 + 0.1 * layer - 0.05 * i + 0.03 * j + 0.01 * (1 + layer) * i * j;
  };
  const at::Tensor gi = at::arange(8, at::kDouble).view({8, 1}).expand({8, 12});
  const at::Tensor gj = at::arange(12, at::kDouble).view({1, 12}).expand({8, 12});
  const at::Tensor x = at::stack({field_at(gi, gj, 0), field_at(gi, gj, 1)});  // (layer, y, x)
  const at::Tensor pi = places.select(1, 0) / 0.5 - 0.5, pj = places.select(1, 1) / 0.5 - 0.5;
  const at::Tensor at_places = at::stack({field_at(pi, pj, 0), field_at(pi, pj, 1)});  // (layer, place)
  const at::Tensor truth = at::atan(3 * at_places);
  const auto path = written(spec, places, truth);

  assim::products::ObservationPlaces where;
  where.state = spec;
  where.windows = 1;
  where.frames = 1;
  where.observed = {2, 8, 12};
  where.variable = "observation";
  const auto read = assim::products::read_observation_file(path, where);
  std::filesystem::remove(path);
  REQUIRE(read.places.defined());
  CHECK(read.places.sizes().vec() == std::vector<std::int64_t>{n, 2});
  CHECK(at::equal(read.places, places));
  CHECK(read.observations.sizes().vec() == std::vector<std::int64_t>{1, 1, 2, n});
  CHECK(read.mask.sizes().vec() == std::vector<std::int64_t>{1, n});

  assim::products::ObservationSet set;
  set.state = spec;
  set.places = read.places;
  const assim::off_grid::AtPlaces h(std::make_shared<Arctan>(), set.places_in_grid_units());
  CHECK(h.output_shape({2, 8, 12}) == std::vector<std::int64_t>{2, n});
  const at::Tensor hx = h.apply(x);
  CHECK(at::allclose(hx, read.observations[0][0], 0, 1e-12));
  // A batch of members is interpolated member by member; a field that is not
  // bilinear (a sine) is not reproduced exactly, so the check above can fail.
  CHECK(at::allclose(h.apply(at::stack({x, 2 * x}))[1], at::atan(6 * at_places), 0, 1e-12));
  const at::Tensor wavy = at::sin(gi + gj).unsqueeze(0).expand({2, 8, 12});
  CHECK((h.apply(wavy) - at::atan(3 * at::sin(pi + pj))).abs().max().item<double>() > 0.05);

  // A non-element-wise operator is refused with its reason.
  class Sum : public assim::ObservationOperator {
   public:
    at::Tensor apply(const at::Tensor& x) const override { return x.sum(-1); }
    std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& s) const override {
      return std::vector<std::int64_t>(s.begin(), s.end() - 1);
    }
  };
  CHECK_THROWS_WITH_AS(assim::off_grid::check_element_wise(Sum(), {2, 8, 12}, 2, n),
                       doctest::Contains("not one value per place and channel"), assim::Error);
  CHECK_NOTHROW(assim::off_grid::check_element_wise(Arctan(), {2, 8, 12}, 2, n));
}
