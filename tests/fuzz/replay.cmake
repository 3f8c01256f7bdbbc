# Replays every file of the given directories through a fuzz target once (no fuzzing):
#   cmake -DFUZZER=path/to/target -DINPUTS="dir1|dir2" -P replay.cmake
# Directories that do not exist are skipped; a crash fails the test.
string(REPLACE "|" ";" dirs "${INPUTS}")
set(files)
foreach(dir ${dirs})
  if(IS_DIRECTORY ${dir})
    file(GLOB found LIST_DIRECTORIES false ${dir}/*)
    list(APPEND files ${found})
  endif()
endforeach()
if(NOT files)
  message(STATUS "no inputs in ${INPUTS}")
  return()
endif()
execute_process(COMMAND ${FUZZER} -runs=0 ${files} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed on a replayed input (exit ${rc})")
endif()
