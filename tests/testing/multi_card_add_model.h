// A plain model of the ADD and DEL rules of docs/reference-behavior.md §2.1
// on a node of several network cards, as the oracle of the randomized
// multi-card tests (MultiCardNode and the NodeAgent running one). Each card
// has a fixed number of addresses: a single-address pod takes the first card
// (in order) with a free one and keeps it; a multi-address pod takes one on
// every card, or none; a DEL frees every address the pod holds.
//
//   enipool::testing::MultiCardAddModel model{.capacity = {4, 1}, .used = {0, 0}};
//   model.Add(7);       // card 0
//   model.AddMulti(8);  // one address on each card
//   model.Delete(8);    // 2 addresses released

#ifndef ENIPOOL_TESTS_TESTING_MULTI_CARD_ADD_MODEL_H_
#define ENIPOOL_TESTS_TESTING_MULTI_CARD_ADD_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace enipool::testing {

struct MultiCardAddModel {
  std::vector<std::int64_t> capacity;
  std::vector<std::int64_t> used;
  std::map<int, int> single;  // pod → card
  std::set<int> multi;        // pods holding one address per card

  // The card the pod's address is on, or nullopt when every card is full.
  std::optional<int> Add(int pod) {
    if (auto it = single.find(pod); it != single.end()) return it->second;
    for (std::size_t c = 0; c < capacity.size(); ++c) {
      if (used[c] < capacity[c]) {
        used[c] += 1;
        single[pod] = static_cast<int>(c);
        return static_cast<int>(c);
      }
    }
    return std::nullopt;
  }

  // Whether the pod holds an address on every card afterwards.
  bool AddMulti(int pod) {
    if (multi.contains(pod)) return true;
    for (std::size_t c = 0; c < capacity.size(); ++c) {
      if (used[c] >= capacity[c]) return false;
    }
    for (std::int64_t& u : used) u += 1;
    multi.insert(pod);
    return true;
  }

  // The number of addresses released (0 for a pod that holds none).
  std::size_t Delete(int pod) {
    if (auto it = single.find(pod); it != single.end()) {
      used[static_cast<std::size_t>(it->second)] -= 1;
      single.erase(it);
      return 1;
    }
    if (multi.erase(pod) > 0) {
      for (std::int64_t& u : used) u -= 1;
      return capacity.size();
    }
    return 0;
  }
};

}  // namespace enipool::testing

#endif  // ENIPOOL_TESTS_TESTING_MULTI_CARD_ADD_MODEL_H_
