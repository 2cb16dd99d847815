# Warnings for coactor's own targets (never exported to consumers).
function(coactor_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()
