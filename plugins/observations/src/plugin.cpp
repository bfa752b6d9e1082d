// Element-wise observation operators of the score-based assimilation papers
// (see ../shared/reference/score-based-da.md, "Observation operators"):
// identity, arctan(a x) ("easy") and A sin(f x) ("hard"). They act on any
// state shape and keep it.
#include <assim/assim.hpp>

#include <ATen/ATen.h>

namespace {

using assim::Config;
using assim::Parameters;

class Identity : public assim::ObservationOperator {
 public:
  static Parameters parameters() { return {}; }
  explicit Identity(const Config&) {}
  at::Tensor apply(const at::Tensor& x) const override { return x; }
  bool linear() const override { return true; }
};

class Arctan : public assim::ObservationOperator {
 public:
  static Parameters parameters() {
    Parameters p;
    p.real("scale", 3.0, "1 / state units", "a in arctan(a x)").above(0);
    return p;
  }
  explicit Arctan(const Config& c) : scale_(c.get<double>("scale")) {}
  at::Tensor apply(const at::Tensor& x) const override { return at::atan(scale_ * x); }

 private:
  double scale_;
};

class Sine : public assim::ObservationOperator {
 public:
  static Parameters parameters() {
    Parameters p;
    p.real("amplitude", 1.5, "observation units", "A in A sin(f x)").above(0);
    p.real("frequency", 3.0, "1 / state units", "f in A sin(f x)").above(0);
    return p;
  }
  explicit Sine(const Config& c) : amplitude_(c.get<double>("amplitude")), frequency_(c.get<double>("frequency")) {}
  at::Tensor apply(const at::Tensor& x) const override { return amplitude_ * at::sin(frequency_ * x); }

 private:
  double amplitude_, frequency_;
};

}  // namespace

ASSIM_PLUGIN("observations", "0.1.0") {
  registrar.add<Identity>("obs.identity", "y = x");
  registrar.add<Arctan>("obs.arctan", "y = arctan(scale x), element-wise (the papers' 'easy' operator)");
  registrar.add<Sine>("obs.sin", "y = amplitude sin(frequency x), element-wise (the papers' 'hard' operator)");
}
