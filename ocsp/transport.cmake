# The OCSP/CRL client's HTTP transport (ocsp/http_fetch, its response parser ocsp/http_response, ocsp/url).
# include()d from ocsp/CMakeLists.txt after add_library(ocspgate_ocsp ...).
target_sources(ocspgate_ocsp PRIVATE ${CMAKE_CURRENT_LIST_DIR}/http_fetch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/http_response.cpp ${CMAKE_CURRENT_LIST_DIR}/url.cpp)
target_link_libraries(ocspgate_ocsp PUBLIC PkgConfig::LIBUV llhttp)
