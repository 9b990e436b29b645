# Fails unless every section citation in the repository can be followed:
#
#   * a citation is a page of docs/ followed by one or more section signs,
#     e.g. "docs/reference-behavior.md §4.6" or "... §4.3–§4.8, §7, §8.3";
#     each cited number must be a heading of that page ("## 4." or
#     "### 4.6 ...");
#   * a section sign anywhere else is an error (a bare "§4.6", or one after
#     "reference", names no page a reader can open), except inside a docs/
#     page, where a bare one cites the page itself and is checked the same way;
#   * nothing may point outside the repository: "../shared", "shared/reference",
#     "closing note(s)".
#
# A comment wrapped over two lines ("docs/reference-behavior.md" at the end of
# one, "§4.6" at the start of the next) counts as one citation.
#
#   cmake -DSOURCE_DIR=<repository> -P tests/doc_citations.cmake
#
# tests/doc_citations/bad is a small tree of deliberate mistakes that this
# script must reject (CTest checks that it names each one); the repository
# scan skips it.
cmake_minimum_required(VERSION 3.25)

if(NOT DEFINED SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repository> -P doc_citations.cmake")
endif()

set(section_sign "§")
set(number "[0-9]+(\\.[0-9]+)*")
set(link "(, |–|/| and |, and )")
set(citation_regex "docs/[A-Za-z0-9_-]+\\.md ${section_sign}${number}(${link}${section_sign}${number})*")

file(GLOB_RECURSE candidates LIST_DIRECTORIES false
  "${SOURCE_DIR}/include/*" "${SOURCE_DIR}/tests/*" "${SOURCE_DIR}/benchmarks/*"
  "${SOURCE_DIR}/examples/*" "${SOURCE_DIR}/tools/*" "${SOURCE_DIR}/fuzz/*"
  "${SOURCE_DIR}/cmake/*" "${SOURCE_DIR}/docs/*" "${SOURCE_DIR}/.ci/*"
  "${SOURCE_DIR}/data/*.md" "${SOURCE_DIR}/README.md" "${SOURCE_DIR}/CMakeLists.txt"
  "${SOURCE_DIR}/CMakePresets.json")
set(files "")
foreach(path IN LISTS candidates)
  file(RELATIVE_PATH relative "${SOURCE_DIR}" "${path}")
  if(relative MATCHES "^tests/doc_citations(/|\\.cmake$)")
    continue()  # this script and its deliberate mistakes
  endif()
  if(NOT relative MATCHES "\\.(h|hpp|cpp|cc|cmake|md|txt|json|in|sh|py)$|CMakeLists\\.txt$|^\\.ci/")
    continue()
  endif()
  list(APPEND files "${relative}")
endforeach()
list(SORT files)

# The section numbers each docs/ page defines, read from its headings.
function(page_sections page out_var)
  set(sections "")
  if(EXISTS "${SOURCE_DIR}/${page}")
    file(STRINGS "${SOURCE_DIR}/${page}" headings REGEX "^#+ [0-9]+(\\.[0-9]+)*\\.? ")
    foreach(heading IN LISTS headings)
      string(REGEX MATCH "^#+ ([0-9]+(\\.[0-9]+)*)" ignored "${heading}")
      list(APPEND sections "${CMAKE_MATCH_1}")
    endforeach()
  endif()
  set(${out_var} "${sections}" PARENT_SCOPE)
endfunction()

# Checks every number of one citation chain against the page's headings.
function(check_chain file page chain)
  string(REPLACE ";" "," safe_page "${page}")
  string(MAKE_C_IDENTIFIER "${safe_page}" key)
  if(NOT DEFINED CACHED_SECTIONS_${key})
    page_sections("${page}" sections)
    set(CACHED_SECTIONS_${key} "${sections}" PARENT_SCOPE)
    set(known "${sections}")
  else()
    set(known "${CACHED_SECTIONS_${key}}")
  endif()
  if(NOT EXISTS "${SOURCE_DIR}/${page}")
    set(errors "${errors}\n  ${file}: cites ${page}, which does not exist" PARENT_SCOPE)
    return()
  endif()
  string(REGEX MATCHALL "${section_sign}${number}" cited "${chain}")
  set(local_errors "")
  foreach(sign_and_number IN LISTS cited)
    string(REPLACE "${section_sign}" "" section "${sign_and_number}")
    list(FIND known "${section}" at)
    if(at EQUAL -1)
      set(local_errors "${local_errors}\n  ${file}: cites §${section}, which ${page} does not have (\"${chain}\")")
    endif()
  endforeach()
  set(errors "${errors}${local_errors}" PARENT_SCOPE)
endfunction()

set(errors "")
set(citations 0)
foreach(file IN LISTS files)
  file(READ "${SOURCE_DIR}/${file}" text)
  foreach(outside "../shared" "shared/reference" "closing note" "Closing note")
    string(FIND "${text}" "${outside}" at)
    if(NOT at EQUAL -1)
      set(errors "${errors}\n  ${file}: points outside the repository (\"${outside}\")")
    endif()
  endforeach()
  string(FIND "${text}" "${section_sign}" at)
  if(at EQUAL -1)
    continue()
  endif()
  # Join wrapped comment lines: newline, indentation and a comment leader.
  string(REGEX REPLACE "[ \t]*\n[ \t]*(//+|#+|\\*+)?[ \t]*" " " joined "${text}")
  string(REGEX MATCHALL "${citation_regex}" chains "${joined}")
  foreach(chain IN LISTS chains)
    math(EXPR citations "${citations} + 1")
    string(REGEX MATCH "^docs/[A-Za-z0-9_-]+\\.md" page "${chain}")
    check_chain("${file}" "${page}" "${chain}")
  endforeach()
  string(REGEX REPLACE "${citation_regex}" "" rest "${joined}")
  if(file MATCHES "^docs/[^/]+\\.md$")
    # Inside a page, a bare chain cites the page itself.
    set(self_regex "${section_sign}${number}(${link}${section_sign}${number})*")
    string(REGEX MATCHALL "${self_regex}" chains "${rest}")
    foreach(chain IN LISTS chains)
      math(EXPR citations "${citations} + 1")
      check_chain("${file}" "${file}" "${chain}")
    endforeach()
    string(REGEX REPLACE "${self_regex}" "" rest "${rest}")
  endif()
  string(REGEX MATCHALL "[^ ]*[ ]?[^ ]*[ ]?${section_sign}[^ ]*" bare "${rest}")
  foreach(context IN LISTS bare)
    set(errors "${errors}\n  ${file}: a section sign with no docs/ page before it (\"${context}\"); write e.g. \"docs/reference-behavior.md §4.6\"")
  endforeach()
endforeach()

if(NOT errors STREQUAL "")
  message(FATAL_ERROR "citations a reader cannot follow:${errors}")
endif()
list(LENGTH files scanned)
message(STATUS "${citations} section citations in ${scanned} files, each naming a section that exists")
