// -----------------------------------------------------------------------------
// File: enipool.h
// -----------------------------------------------------------------------------
//
// The umbrella header: everything a node agent or controller needs. The
// simulator (enipool/sim/…) and the persistence layer (enipool/persist/…)
// are opt-in and included on their own.
//
// Example:
//
//   #include <enipool/enipool.h>
//
//   enipool::ManualClock clock;
//   enipool::NodeDatastore datastore(enipool::AddressMode::kPrefix, clock);

#ifndef ENIPOOL_ENIPOOL_H_
#define ENIPOOL_ENIPOOL_H_

#include "enipool/additional_eni_tags.h"
#include "enipool/agent.h"
#include "enipool/clock.h"
#include "enipool/controller.h"
#include "enipool/datastore.h"
#include "enipool/driver.h"
#include "enipool/ec2/backend.h"
#include "enipool/instance_limits.h"
#include "enipool/introspection.h"
#include "enipool/ipv4.h"
#include "enipool/ipv6.h"
#include "enipool/ipv6_datastore.h"
#include "enipool/max_pods.h"
#include "enipool/multi_card.h"
#include "enipool/node_config.h"
#include "enipool/pod_key.h"
#include "enipool/policy/catalog.h"
#include "enipool/policy/churn_adaptive.h"
#include "enipool/policy/policy.h"
#include "enipool/policy/prefix_fallback.h"
#include "enipool/policy/warm_pool.h"
#include "enipool/prefix_bitmap.h"
#include "enipool/slot_bitmap.h"
#include "enipool/status.h"
#include "enipool/synchronized_datastore.h"

#endif  // ENIPOOL_ENIPOOL_H_
