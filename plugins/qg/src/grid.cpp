#include "grid.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace assim::qg {

namespace {
constexpr double pi = 3.141592653589793;
}

void Parameters::check() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  // The r2c layout and pyqg's wavenumber list (+Nyquist column, -nx/2 row) need an even nx.
  if (nx < 4 || nx % 2 != 0) fail("nx must be even and at least 4, not " + std::to_string(nx));
  if (!(L > 0)) fail("L must be positive");
  if (!(dt > 0)) fail("dt must be positive");
  if (!(rd > 0)) fail("rd must be positive");
  if (!(delta > 0)) fail("delta must be positive");
  if (!(H1 > 0)) fail("H1 must be positive");
  if (!(rek >= 0)) fail("rek must not be negative");
  if (!(filterfac >= 0)) fail("filterfac must not be negative");
}

// Each expression below is written in pyqg's order of operations (model.py,
// qg_model.py) so that the coefficients agree with pyqg's to the last bit
// wherever libm does.
Grid::Grid(const Parameters& parameters)
    : p(parameters), nx(p.nx), ny(p.nx), nk(p.nx / 2 + 1), W(p.L) {
  p.check();
  dx = p.L / nx;
  dy = W / ny;
  H2 = p.H1 / p.delta;
  F1 = std::pow(p.rd, -2.0) / (1.0 + p.delta);
  F2 = p.delta * F1;
  Qy1 = p.beta + F1 * (p.U1 - p.U2);
  Qy2 = p.beta - F2 * (p.U1 - p.U2);

  const double dk = 2 * pi / p.L, dl = 2 * pi / W;
  k.resize(nk);
  for (std::int64_t i = 0; i < nk; ++i) k[i] = dk * static_cast<double>(i);
  l.resize(ny);
  for (std::int64_t j = 0; j < ny; ++j) l[j] = dl * static_cast<double>(j < ny / 2 ? j : j - ny);
  kQy1.resize(nk);
  kQy2.resize(nk);
  for (std::int64_t i = 0; i < nk; ++i) {
    kQy1[i] = k[i] * Qy1;
    kQy2[i] = k[i] * Qy2;
  }

  const auto n = static_cast<std::size_t>(modes());
  kappa2.resize(n);
  a11.resize(n);
  a12.resize(n);
  a21.resize(n);
  a22.resize(n);
  rek_kappa2.resize(n);
  filter.resize(n);
  const double cphi = 0.65 * pi;  // filter cut-off (reference doc, "Filter")
  for (std::int64_t j = 0; j < ny; ++j) {
    for (std::int64_t i = 0; i < nk; ++i) {
      const auto m = static_cast<std::size_t>(j * nk + i);
      const double wv2 = k[i] * k[i] + l[j] * l[j];
      kappa2[m] = wv2;
      rek_kappa2[m] = p.rek * wv2;
      // det = kappa^2 (kappa^2 + F1 + F2); psi = 0 at kappa = 0.
      const double det = wv2 * (wv2 + F1 + F2);
      const double det_inv = det == 0 ? 0.0 : std::pow(det, -1.0);
      a11[m] = -(wv2 + F2) * det_inv;
      a12[m] = -F1 * det_inv;
      a21[m] = -F2 * det_inv;
      a22[m] = -(wv2 + F1) * det_inv;
      if (p.dealias) {
        // 2/3 rule: keep |index| < n/3 in each direction, so that the
        // product of two kept fields aliases only onto discarded modes.
        const std::int64_t jj = j < ny / 2 ? j : ny - j;
        filter[m] = (3 * i < nx && 3 * jj < ny) ? 1.0 : 0.0;
      } else {
        const double kx = k[i] * dx, ly = l[j] * dy;
        const double wv = std::sqrt(kx * kx + ly * ly);
        filter[m] = wv <= cphi ? 1.0 : std::exp(-p.filterfac * std::pow(wv - cphi, 4.0));
      }
    }
  }
}

}  // namespace assim::qg
