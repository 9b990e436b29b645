# Configures enipool where nlohmann_json is "absent"
# (-DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON) and installs it to PREFIX:
# the install a machine without nlohmann-json3-dev would get.
#   cmake -DSOURCE=src -DBINARY=dir -DPREFIX=dir -DGENERATOR=Ninja -P install_without_json.cmake
file(REMOVE_RECURSE ${BINARY} ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -G ${GENERATOR}
                        -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -DENIPOOL_INSTALL=ON
                        -DENIPOOL_BUILD_TESTS=OFF -DENIPOOL_BUILD_EXAMPLES=OFF
                        -DENIPOOL_BUILD_BENCHMARKS=OFF -DENIPOOL_BUILD_FUZZERS=OFF
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY} --prefix ${PREFIX}
                COMMAND_ERROR_IS_FATAL ANY)
if(EXISTS ${PREFIX}/share/enipool/enipoolJsonTargets.cmake)
  message(FATAL_ERROR "the json component was installed although nlohmann_json was disabled")
endif()
