// The Lorenz-96 and Lorenz-63 systems with a classical RK4 step, on a batch
// of members stored contiguously (member-major). Plain C++ so that the EnKF
// tests and benchmarks use the very same dynamics as the plugin.
#pragma once

#include <cstdint>
#include <vector>

namespace assim::lorenz {

// dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, cyclic in i (Lorenz 1996).
void lorenz96_tendency(const double* x, double* dxdt, int sites, double forcing);

// dx/dt = s (y - x), dy/dt = x (r - z) - y, dz/dt = x y - b z (Lorenz 1963).
void lorenz63_tendency(const double* x, double* dxdt, double sigma, double rho, double beta);

// One RK4 step of length dt for each of `members` states of size `size`,
// in place. `scratch` is resized as needed and may be reused between calls.
template <class Tendency>
void rk4_step(double* x, std::int64_t members, int size, double dt, const Tendency& tendency,
              std::vector<double>& scratch) {
  scratch.resize(5 * static_cast<std::size_t>(size));
  double* k1 = scratch.data();
  double* k2 = k1 + size;
  double* k3 = k2 + size;
  double* k4 = k3 + size;
  double* stage = k4 + size;
  for (std::int64_t m = 0; m < members; ++m) {
    double* s = x + m * size;
    tendency(s, k1);
    for (int i = 0; i < size; ++i) stage[i] = s[i] + 0.5 * dt * k1[i];
    tendency(stage, k2);
    for (int i = 0; i < size; ++i) stage[i] = s[i] + 0.5 * dt * k2[i];
    tendency(stage, k3);
    for (int i = 0; i < size; ++i) stage[i] = s[i] + dt * k3[i];
    tendency(stage, k4);
    for (int i = 0; i < size; ++i) s[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
  }
}

}  // namespace assim::lorenz
