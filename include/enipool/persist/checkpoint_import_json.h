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
//
// A node of several cards (multi_card.h) kept one checkpoint per card, card
// n > 0's at CardStorePath(path, n) ("ipam-nic-1.json");
// ImportVpcCniCheckpointsOnce() imports each into its card's store:
//
//   std::vector<std::optional<std::string>> files;   // node.cards() order
//   for (int card : node.cards()) files.push_back(ReadIfExists(
//       enipool::CardStorePath("/var/run/aws-node/ipam.json", card)));
//   ENIPOOL_ASSIGN_OR_RETURN(std::vector<enipool::CheckpointImport> imports,
//       enipool::ImportVpcCniCheckpointsOnce(node, files, clock.Now(), requests));

#ifndef ENIPOOL_PERSIST_CHECKPOINT_IMPORT_JSON_H_
#define ENIPOOL_PERSIST_CHECKPOINT_IMPORT_JSON_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/ec2/backend.h"
#include "enipool/multi_card.h"
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

// ImportVpcCniCheckpointsOnce()
//
// ImportVpcCniCheckpointOnce() for every card of a multi-card node:
// `checkpoints[k]` is the content of the k-th managed card's checkpoint
// (node.cards()[k]; the reference's file at CardStorePath(path, card)), or
// std::nullopt when that file does not exist: the reference starts such a
// card empty, and so does this (its import is still marked done). Returns
// one CheckpointImport per card, card order; a card whose store had
// imported before is `skipped`. Before anything changes: FAILED_PRECONDITION
// unless every card has started and none is busy, INVALID_ARGUMENT when the
// count differs from the managed cards, and any file's parse error, naming
// its card. Then the cards are imported in order; a restore error (an
// address held twice) or an I/O error on one card is returned naming it,
// the cards before it imported and marked, it and the ones after it
// untouched: calling again resumes with that card.
template <Clock C, typename... Options>
[[nodiscard]] absl::StatusOr<std::vector<CheckpointImport>> ImportVpcCniCheckpointsOnce(
    MultiCardNode<C, Options...>& node,
    const std::vector<std::optional<std::string>>& checkpoints, absl::Time now,
    std::vector<Ec2Request>& out) {
  const auto card_error = [&](std::size_t k, const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat("network card ", node.cards()[k], ": ",
                                                    status.message()));
  };
  if (checkpoints.size() != node.card_count()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vpc-cni checkpoint import: ", checkpoints.size(), " checkpoints for ",
        node.card_count(), " managed cards"));
  }
  for (std::size_t k = 0; k < node.card_count(); ++k) {
    const auto& controller = node.controller(k);
    if (!controller.started() || controller.busy()) {
      return card_error(k, absl::FailedPreconditionError(absl::StrCat(
                               "vpc-cni checkpoint import: the controller is ",
                               !controller.started() ? "not started" : "busy",
                               "; import after the startup describe, before the first pool "
                               "check")));
    }
    if (checkpoints[k].has_value() && !controller.checkpoint_imported()) {
      if (absl::StatusOr<VpcCniCheckpoint> parsed = ParseVpcCniCheckpoint(*checkpoints[k]);
          !parsed.ok()) {
        return card_error(k, parsed.status());
      }
    }
  }
  // An absent file is an empty checkpoint.
  static constexpr absl::string_view kEmpty =
      R"({"version":"vpc-cni-ipam/1","allocations":[]})";
  std::vector<CheckpointImport> imports;
  imports.reserve(node.card_count());
  for (std::size_t k = 0; k < node.card_count(); ++k) {
    absl::StatusOr<CheckpointImport> imported = ImportVpcCniCheckpointOnce(
        node.controller(k), checkpoints[k].has_value() ? absl::string_view(*checkpoints[k]) : kEmpty,
        now, out);
    if (!imported.ok()) return card_error(k, imported.status());
    imports.push_back(*std::move(imported));
  }
  return imports;
}

}  // namespace enipool

#endif  // ENIPOOL_PERSIST_CHECKPOINT_IMPORT_JSON_H_
