// Must NOT compile: a policy without Plan() given to NodeController. CTest
// (enipool_policy_concept_names_the_missing_member) builds this file and
// checks that the compiler's message names the missing member.

#include "enipool/clock.h"
#include "enipool/controller.h"

namespace {

struct NoPlan {
  absl::string_view name() const { return "no-plan"; }
  bool ShouldCheck(const enipool::WarmPoolConfig&, const enipool::PoolStats&,
                   const enipool::PoolSignals&) const {
    return true;
  }
  bool NeedsFreeCidrs(const enipool::WarmPoolConfig&, const enipool::ReconcileInputs&) const {
    return false;
  }
};

}  // namespace

int main() {
  enipool::ManualClock clock;
  auto controller = enipool::NodeController<enipool::ManualClock, NoPlan>::Create(clock, {});
  return controller.ok() ? 0 : 1;
}
