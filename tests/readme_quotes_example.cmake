# Fails unless README.md quotes an example file verbatim, so the README's
# code cannot drift from the example CTest builds and runs.
#   cmake -DREADME=README.md -DEXAMPLE=examples/quickstart.cpp -P readme_quotes_example.cmake
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "${example}" position)
if(position EQUAL -1)
  message(FATAL_ERROR "${README} no longer quotes ${EXAMPLE} verbatim; paste the file into the README again")
endif()
message(STATUS "${README} quotes ${EXAMPLE} verbatim")
