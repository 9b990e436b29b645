# Runs one command and checks its exit status and output (stdout and stderr
# together), for tests of the example programs' command lines.
#   cmake -DCOMMAND=prog -DARGS="a|b|c" -DEXPECT_EXIT=1 -DEXPECT_OUTPUT=regex
#         [-DREJECT_OUTPUT=regex] [-DWORKING_DIRECTORY=dir] -P expect_command.cmake
# ARGS separates arguments with '|'; "<semicolon>" stands for ';' in one argument.
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "<semicolon>" "\\;" args "${args}")
if(NOT WORKING_DIRECTORY)
  set(WORKING_DIRECTORY ".")
endif()
execute_process(COMMAND ${COMMAND} ${args}
  WORKING_DIRECTORY ${WORKING_DIRECTORY}
  RESULT_VARIABLE exit_status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
set(output "${out}${err}")
if(NOT exit_status STREQUAL EXPECT_EXIT)
  message(FATAL_ERROR "exit status ${exit_status}, want ${EXPECT_EXIT}; output:\n${output}")
endif()
if(NOT output MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "output does not match \"${EXPECT_OUTPUT}\":\n${output}")
endif()
if(REJECT_OUTPUT AND output MATCHES "${REJECT_OUTPUT}")
  message(FATAL_ERROR "output matches \"${REJECT_OUTPUT}\", which it must not:\n${output}")
endif()
message(STATUS "ok: exit ${exit_status}, output matches \"${EXPECT_OUTPUT}\"")
