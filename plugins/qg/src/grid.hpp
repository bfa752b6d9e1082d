// The two-layer QG grid and every coefficient derived from it (pyqg's
// QGModel: wavenumbers, PV inversion, background gradients, filter). This is
// the one place these numbers are computed: the FFTW stepper and the
// differentiable ATen path (TwoLayerModel::derive) both read them from here.
#pragma once

#include <cstdint>
#include <vector>

namespace assim::qg {

// pyqg's parameter names, units and defaults (reference doc, "Defaults").
struct Parameters {
  std::int64_t nx = 64;     // grid points per side; ny = nx (pyqg supports only square grids)
  double L = 1e6;           // m, domain side; W = L
  double dt = 7200.0;       // s
  double beta = 1.5e-11;    // m-1 s-1
  double rd = 15000.0;      // m, deformation radius
  double delta = 0.25;      // H1 / H2
  double H1 = 500.0;        // m
  double U1 = 0.025;        // m s-1, upper-layer background flow
  double U2 = 0.0;          // m s-1
  double rek = 5.787e-7;    // s-1, bottom drag (1 / 20 days)
  double filterfac = 23.6;  // exponential filter strength
  // Replaces the exponential filter by the 2/3-rule mask (for the
  // energy/enstrophy conservation check; pyqg itself has no such mode).
  bool dealias = false;

  // Throws std::invalid_argument naming the first unusable value.
  void check() const;
};

// Arrays over the half spectrum are (ny, nk) row-major, index j * nk + i.
struct Grid {
  explicit Grid(const Parameters& parameters);

  Parameters p;
  std::int64_t nx, ny, nk;      // nk = nx/2 + 1 (r2c layout, +Nyquist column kept)
  double W, dx, dy, H2, F1, F2, Qy1, Qy2;
  std::vector<double> k;        // nk: (2 pi / L) [0 .. nx/2]
  std::vector<double> l;        // ny: (2 pi / W) [0 .. ny/2-1, -ny/2 .. -1]
  std::vector<double> kappa2;   // k^2 + l^2
  // psih = a q h per wavenumber: psi1h = a11 q1h + a12 q2h, psi2h = a21 q1h + a22 q2h,
  // zero at kappa = 0 (the mean streamfunction is zero).
  std::vector<double> a11, a12, a21, a22;
  std::vector<double> kQy1, kQy2;  // nk: k Qy_j, the beta-term coefficient (pyqg's _ikQy / i)
  std::vector<double> rek_kappa2;  // rek kappa^2, the lower-layer drag coefficient
  std::vector<double> filter;      // exponential filter, or the 2/3 mask when p.dealias

  std::int64_t points() const { return nx * ny; }
  std::int64_t modes() const { return ny * nk; }
  // Background zonal flow and thickness of layer 0 (upper) or 1.
  double U(int layer) const { return layer == 0 ? p.U1 : p.U2; }
  double H(int layer) const { return layer == 0 ? p.H1 : H2; }
};

}  // namespace assim::qg
