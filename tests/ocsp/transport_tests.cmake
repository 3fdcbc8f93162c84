# Tests for the OCSP/CRL client's HTTP transport; include()d from tests/ocsp/CMakeLists.txt
# after add_executable(ocsp_test ...).
target_sources(ocsp_test PRIVATE ${CMAKE_CURRENT_LIST_DIR}/http_fetch_test.cpp ${CMAKE_CURRENT_LIST_DIR}/url_test.cpp)
