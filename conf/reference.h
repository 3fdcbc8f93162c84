// The configuration reference, generated from the schema so that it cannot drift from it.
#pragma once

#include <string>

namespace ocspgate::conf {

// Every table and key, with type, default and meaning, as Markdown. conf/README.md holds
// this text between its "BEGIN/END GENERATED REFERENCE" markers, and a unit test checks
// that it still does.
std::string reference_markdown();

}  // namespace ocspgate::conf
