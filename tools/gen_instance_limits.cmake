# Generates include/enipool/internal/instance_limits_table.h from
# data/instance-limits.csv (the AWS VPC CNI's per-instance-type ENI limits).
#
#   cmake -P tools/gen_instance_limits.cmake               # (re)write the header
#   cmake -DCHECK=ON -P tools/gen_instance_limits.cmake    # fail if it is stale
#
# Optional: -DINPUT=<csv> -DOUTPUT=<header> -DSOURCE="<provenance text>".
#
# A CMake script, so regenerating needs nothing but cmake. Every row is
# validated before anything is written: a bad row stops the script with its
# line number and the reason, and the old header stays as it was. The header is
# only rewritten when its content changes, so re-running is a no-op.
#
# Columns (docs/reference-behavior.md §6.2): instance_type, max_enis, ipv4_per_eni, hypervisor,
# is_nitro, is_bare_metal, pd_supported, network_cards,
# default_network_card_index, enis_all_cards, per_card_max_enis ("card:max;…").
# is_nitro and per_card_max_enis are checked but not stored: is_nitro is
# hypervisor == nitro, and in this data every card of a type allows the same
# number of ENIs as the default card (the script fails if that ever changes, so
# the table can grow a per-card column then).

cmake_minimum_required(VERSION 3.25)

get_filename_component(repo_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(NOT DEFINED INPUT)
  set(INPUT "${repo_root}/data/instance-limits.csv")
endif()
if(NOT DEFINED OUTPUT)
  set(OUTPUT "${repo_root}/include/enipool/internal/instance_limits_table.h")
endif()
if(NOT DEFINED SOURCE)
  set(SOURCE "AWS VPC CNI v1.23.1 pkg/vpc/vpc_ip_resource_limit.go")
endif()

set(expected_header "instance_type,max_enis,ipv4_per_eni,hypervisor,is_nitro,is_bare_metal,pd_supported,network_cards,default_network_card_index,enis_all_cards,per_card_max_enis")

function(fail line_number message)
  message(FATAL_ERROR "${INPUT}:${line_number}: ${message}")
endfunction()

# Reads a non-negative decimal integer (no sign, no leading zeros, at most 4
# digits, so every value fits the table's int fields easily).
function(parse_count out line_number column text)
  if(NOT text MATCHES "^(0|[1-9][0-9]?[0-9]?[0-9]?)$")
    fail(${line_number} "${column} \"${text}\" is not a count (0..9999)")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(parse_bool out line_number column text)
  if(NOT text MATCHES "^(true|false)$")
    fail(${line_number} "${column} \"${text}\" is not true or false")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------------------
# Read. CMake lists are ';'-separated and per_card_max_enis uses ';', so the
# semicolons become '|' before the text is split into lines.
if(NOT EXISTS "${INPUT}")
  message(FATAL_ERROR "input ${INPUT} does not exist")
endif()
file(READ "${INPUT}" text)
string(REPLACE ";" "|" text "${text}")
string(REPLACE "\r" "" text "${text}")
string(REGEX REPLACE "\n$" "" text "${text}")
string(REPLACE "\n" ";" lines "${text}")

list(POP_FRONT lines header)
if(NOT header STREQUAL expected_header)
  fail(1 "unexpected header\n  got:      ${header}\n  expected: ${expected_header}")
endif()

set(names "")
set(line_number 1)
foreach(line IN LISTS lines)
  math(EXPR line_number "${line_number} + 1")
  if(line STREQUAL "")
    fail(${line_number} "empty line")
  endif()
  string(REPLACE "," ";" fields "${line}")
  list(LENGTH fields field_count)
  if(NOT field_count EQUAL 11)
    fail(${line_number} "${field_count} fields, expected 11: ${line}")
  endif()
  list(GET fields 0 name)
  list(GET fields 1 max_enis_text)
  list(GET fields 2 ipv4_text)
  list(GET fields 3 hypervisor)
  list(GET fields 4 is_nitro_text)
  list(GET fields 5 bare_metal_text)
  list(GET fields 6 pd_text)
  list(GET fields 7 cards_text)
  list(GET fields 8 default_card_text)
  list(GET fields 9 all_cards_text)
  list(GET fields 10 per_card)

  if(NOT name MATCHES "^[a-z0-9][a-z0-9.-]*$")
    fail(${line_number} "instance type \"${name}\" is not of the form [a-z0-9][a-z0-9.-]*")
  endif()
  if(DEFINED "row_${name}")
    fail(${line_number} "duplicate instance type ${name}")
  endif()
  parse_count(max_enis ${line_number} max_enis "${max_enis_text}")
  parse_count(ipv4 ${line_number} ipv4_per_eni "${ipv4_text}")
  parse_count(cards ${line_number} network_cards "${cards_text}")
  parse_count(default_card ${line_number} default_network_card_index "${default_card_text}")
  parse_count(all_cards ${line_number} enis_all_cards "${all_cards_text}")
  parse_bool(is_nitro ${line_number} is_nitro "${is_nitro_text}")
  parse_bool(bare_metal ${line_number} is_bare_metal "${bare_metal_text}")
  parse_bool(pd ${line_number} pd_supported "${pd_text}")

  if(max_enis LESS 1)
    fail(${line_number} "${name}: max_enis ${max_enis} < 1")
  endif()
  if(ipv4 LESS 2)  # one address is the ENI's own primary, so < 2 leaves no pod IP
    fail(${line_number} "${name}: ipv4_per_eni ${ipv4} < 2")
  endif()
  if(NOT hypervisor MATCHES "^(nitro|xen|unknown)$")
    fail(${line_number} "${name}: hypervisor \"${hypervisor}\" is not nitro, xen or unknown")
  endif()
  if(hypervisor STREQUAL "nitro")
    set(want_nitro true)
  else()
    set(want_nitro false)
  endif()
  if(NOT is_nitro STREQUAL want_nitro)
    fail(${line_number} "${name}: is_nitro ${is_nitro} disagrees with hypervisor ${hypervisor}")
  endif()
  # ipamd's rule [AWSU :: IsPrefixDelegationSupported]: nitro or bare metal.
  if(hypervisor STREQUAL "nitro" OR bare_metal STREQUAL "true")
    set(want_pd true)
  else()
    set(want_pd false)
  endif()
  if(NOT pd STREQUAL want_pd)
    fail(${line_number} "${name}: pd_supported ${pd} disagrees with ipamd's rule (nitro or bare metal)")
  endif()
  if(cards LESS 1)
    fail(${line_number} "${name}: network_cards ${cards} < 1")
  endif()
  if(NOT default_card LESS cards)
    fail(${line_number} "${name}: default_network_card_index ${default_card} is not below network_cards ${cards}")
  endif()

  # per_card_max_enis: exactly cards entries "index:max", indices 0..cards-1 in
  # order, the default card's max equal to max_enis, all equal, summing to
  # enis_all_cards.
  string(REPLACE "|" ";" card_entries "${per_card}")
  list(LENGTH card_entries card_entry_count)
  if(NOT card_entry_count EQUAL cards)
    fail(${line_number} "${name}: per_card_max_enis has ${card_entry_count} entries, network_cards is ${cards}")
  endif()
  set(card_sum 0)
  set(card_index 0)
  foreach(entry IN LISTS card_entries)
    if(NOT entry MATCHES "^([0-9]+):([0-9]+)$")
      fail(${line_number} "${name}: per_card_max_enis entry \"${entry}\" is not index:max")
    endif()
    set(entry_index "${CMAKE_MATCH_1}")
    set(entry_max "${CMAKE_MATCH_2}")
    if(NOT entry_index EQUAL card_index)
      fail(${line_number} "${name}: per_card_max_enis entry \"${entry}\": expected card ${card_index}")
    endif()
    if(NOT entry_max EQUAL max_enis)
      fail(${line_number} "${name}: card ${entry_index} allows ${entry_max} ENIs but the default card ${max_enis}: the table has no per-card column yet (add one to the generator)")
    endif()
    math(EXPR card_sum "${card_sum} + ${entry_max}")
    math(EXPR card_index "${card_index} + 1")
  endforeach()
  if(NOT card_sum EQUAL all_cards)
    fail(${line_number} "${name}: enis_all_cards ${all_cards} is not the per-card sum ${card_sum}")
  endif()

  list(APPEND names "${name}")
  set("row_${name}"
      "    {\"${name}\", ${max_enis}, ${ipv4}, \"${hypervisor}\", ${bare_metal}, ${pd}, ${cards}, ${default_card}, ${all_cards}},\n")
endforeach()

list(LENGTH names row_count)
if(row_count EQUAL 0)
  message(FATAL_ERROR "${INPUT}: no rows")
endif()

# Sort by name in byte order (what std::string_view's operator< uses), then
# check that the result is strictly increasing: this is what the header's
# static_assert and its binary search rely on.
list(SORT names COMPARE STRING CASE SENSITIVE ORDER ASCENDING)
set(previous "")
set(rows "")
foreach(name IN LISTS names)
  if(NOT previous STREQUAL "" AND NOT previous STRLESS name)
    message(FATAL_ERROR "${INPUT}: rows not strictly increasing after sorting: ${previous} then ${name}")
  endif()
  string(APPEND rows "${row_${name}}")
  set(previous "${name}")
endforeach()

# "1391" → "1,391" for the provenance line.
set(count_text "${row_count}")
if(row_count GREATER 999)
  string(LENGTH "${row_count}" digits)
  math(EXPR head_length "${digits} - 3")
  string(SUBSTRING "${row_count}" 0 ${head_length} head)
  string(SUBSTRING "${row_count}" ${head_length} 3 tail)
  set(count_text "${head},${tail}")
endif()

# ---------------------------------------------------------------------------
# Write.
set(content "// -----------------------------------------------------------------------------
// File: internal/instance_limits_table.h
// -----------------------------------------------------------------------------
//
// Generated by tools/gen_instance_limits.cmake from data/instance-limits.csv
// (${SOURCE}, ${count_text} types); DO NOT EDIT.
// Regenerate with: cmake -P tools/gen_instance_limits.cmake
//
// One row per EC2 instance type, sorted by name (byte order), names unique.
// Use it through enipool/instance_limits.h, which turns the rows into
// `enipool::InstanceLimits` and checks the order at compile time. Columns:
// name, max ENIs (default network card), IPv4 addresses per ENI (its own
// primary included), hypervisor (\"nitro\", \"xen\" or \"unknown\"), bare metal,
// prefix delegation supported by ipamd (nitro or bare metal), network cards,
// default network card index, ENIs over all cards. Every card of every type
// allows the same number of ENIs as the default card (checked by the
// generator).

#ifndef ENIPOOL_INTERNAL_INSTANCE_LIMITS_TABLE_H_
#define ENIPOOL_INTERNAL_INSTANCE_LIMITS_TABLE_H_

#include <string_view>

namespace enipool::internal {

struct InstanceLimitsRow {
  std::string_view name;
  int max_enis;
  int ipv4_per_eni;
  std::string_view hypervisor;
  bool is_bare_metal;
  bool pd_supported;
  int network_cards;
  int default_network_card_index;
  int enis_all_cards;
};

inline constexpr int kInstanceLimitsRowCount = ${row_count};

inline constexpr InstanceLimitsRow kInstanceLimitsRows[kInstanceLimitsRowCount] = {
${rows}};

}  // namespace enipool::internal

#endif  // ENIPOOL_INTERNAL_INSTANCE_LIMITS_TABLE_H_
")

if(CHECK)
  set(current "")
  if(EXISTS "${OUTPUT}")
    file(READ "${OUTPUT}" current)
  endif()
  if(NOT current STREQUAL content)
    message(FATAL_ERROR "${OUTPUT} is out of date with ${INPUT}; run: cmake -P tools/gen_instance_limits.cmake")
  endif()
  message(STATUS "${OUTPUT} is up to date (${count_text} types)")
else()
  set(staging "${OUTPUT}.tmp")
  file(WRITE "${staging}" "${content}")
  file(COPY_FILE "${staging}" "${OUTPUT}" ONLY_IF_DIFFERENT)
  file(REMOVE "${staging}")
  message(STATUS "wrote ${OUTPUT} (${count_text} types)")
endif()
