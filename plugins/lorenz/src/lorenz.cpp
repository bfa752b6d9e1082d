#include "lorenz.hpp"

namespace assim::lorenz {

void lorenz96_tendency(const double* x, double* dxdt, int sites, double forcing) {
  for (int i = 0; i < sites; ++i) {
    int ip1 = (i + 1) % sites, im1 = (i + sites - 1) % sites, im2 = (i + sites - 2) % sites;
    dxdt[i] = (x[ip1] - x[im2]) * x[im1] - x[i] + forcing;
  }
}

void lorenz63_tendency(const double* x, double* dxdt, double sigma, double rho, double beta) {
  dxdt[0] = sigma * (x[1] - x[0]);
  dxdt[1] = x[0] * (rho - x[2]) - x[1];
  dxdt[2] = x[0] * x[1] - beta * x[2];
}

}  // namespace assim::lorenz
