# One precompiled <torch/torch.h> shared by every in-tree target that needs the
# whole LibTorch C++ API (networks, optimisers); compiling that header costs
# ~16 s and 1 GB per translation unit otherwise. Targets that only pass
# tensors around include <ATen/core/Tensor.h> or <ATen/ATen.h> instead.
add_library(assim_torch_pch STATIC "${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp")
target_link_libraries(assim_torch_pch PUBLIC torch)
target_precompile_headers(assim_torch_pch PUBLIC <torch/torch.h>)

function(assim_use_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM assim_torch_pch)
  target_link_libraries(${target} PRIVATE torch)
endfunction()
