# The revocation engine: policy, cache, coalescing, OCSP queries, CRL store.
target_sources(ocspgate_ocsp PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/chain_check.cpp
  ${CMAKE_CURRENT_LIST_DIR}/crl_judge.cpp
  ${CMAKE_CURRENT_LIST_DIR}/crl_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/factory.cpp
  ${CMAKE_CURRENT_LIST_DIR}/get_fallback.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mailbox.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ocsp_query.cpp
  ${CMAKE_CURRENT_LIST_DIR}/policy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/revocation_checker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/status_cache.cpp
)
target_link_libraries(ocspgate_ocsp PUBLIC fmt::fmt)
