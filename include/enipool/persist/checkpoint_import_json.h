// -----------------------------------------------------------------------------
// File: persist/checkpoint_import_json.h
// -----------------------------------------------------------------------------
//
// The first start of an enipool agent on a node that ran the AWS VPC CNI:
// its pods' addresses are in the reference's checkpoint (`vpc-cni-ipam/1`,
// persist/vpc_cni_checkpoint_json.h), not in enipool's journal yet.
// ImportVpcCniCheckpointOnce() restores them into the controller's store
// (journaled, with their allocation times) once the startup describe has
// rebuilt the ENIs and CIDRs, journals that the import is done, and then
// releases the other mode's unused CIDRs as the reference does at startup.
// On a durable store the import happens once: later starts (and a restart
// in the middle of the import, which is idempotent) find the mark and skip
// it, so pods deleted since are not brought back from the old file. Opt-in
// like the checkpoint reader: needs nlohmann-json (link `enipool::json`).
//
// Example:
//
//   // after the startup describe has been applied (controller.started()):
//   std::vector<enipool::Ec2Request> requests;
//   ENIPOOL_ASSIGN_OR_RETURN(enipool::CheckpointImport import,
//       enipool::ImportVpcCniCheckpointOnce(controller, file_contents, clock.Now(), requests));
//   for (const auto& stale : import.report.dropped) LOG(stale.pod.ToString());
//   // make `requests` (unassigns of the other mode's CIDRs), then serve pods

#ifndef ENIPOOL_PERSIST_CHECKPOINT_IMPORT_JSON_H_
#define ENIPOOL_PERSIST_CHECKPOINT_IMPORT_JSON_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/ec2/backend.h"
#include "enipool/persist/vpc_cni_checkpoint_json.h"
#include "enipool/status.h"

namespace enipool {

// CheckpointImport
//
// What ImportVpcCniCheckpointOnce() did.
struct CheckpointImport {
  bool skipped = false;                  // the store had imported a checkpoint before
  CheckpointRestoreReport report;        // restored and dropped (stale) entries
  std::int64_t other_mode_cidrs = 0;     // unused CIDRs of the other mode released
};

// ImportVpcCniCheckpointOnce()
//
// See the file comment. `checkpoint_json` is the reference's file. Appends
// the unassign requests to `out`. FAILED_PRECONDITION (nothing changes)
// before the startup describe has been applied or while a request is
// outstanding; the parse error (INVALID_ARGUMENT naming the field) or the
// restore's error (ALREADY_EXISTS for an address held twice) with nothing
// restored; the store's I/O error.
template <Clock C, typename... Options>
[[nodiscard]] absl::StatusOr<CheckpointImport> ImportVpcCniCheckpointOnce(
    NodeController<C, Options...>& controller, absl::string_view checkpoint_json, absl::Time now,
    std::vector<Ec2Request>& out) {
  if (!controller.started() || controller.busy()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "vpc-cni checkpoint import: the controller is ", !controller.started() ? "not started" : "busy",
        "; import after the startup describe, before the first pool check"));
  }
  CheckpointImport result;
  if (controller.checkpoint_imported()) {
    result.skipped = true;
    return result;
  }
  ENIPOOL_ASSIGN_OR_RETURN(const VpcCniCheckpoint checkpoint,
                           ParseVpcCniCheckpoint(checkpoint_json));
  ENIPOOL_ASSIGN_OR_RETURN(result.report, RestoreVpcCniCheckpoint(controller.datastore(), checkpoint));
  ENIPOOL_RETURN_IF_ERROR(controller.MarkCheckpointImported(now));
  ENIPOOL_ASSIGN_OR_RETURN(result.other_mode_cidrs, controller.ReleaseOtherModeCidrs(now, out));
  return result;
}

}  // namespace enipool

#endif  // ENIPOOL_PERSIST_CHECKPOINT_IMPORT_JSON_H_
