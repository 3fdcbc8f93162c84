// Which protocol front a listener gets (proxy/front/front.h): the one place that knows every
// front, so the fronts themselves depend on the interface only.
#pragma once

#include <memory>

#include "conf/config.h"
#include "proxy/front/front.h"

namespace ocspgate::proxy {

// The front for a listener's protocol; nullptr for "tcp" and "ldaps" (plain forwarding).
std::unique_ptr<Front> make_front(const conf::Listener& listener);

}  // namespace ocspgate::proxy
